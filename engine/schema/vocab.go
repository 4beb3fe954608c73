package schema

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"dlmstream/engine/tokenizer"
)

// vocab is what the constraint knows of a tokenizer: each id's raw bytes,
// which ids are special, the mask and pad ids.
type vocab struct {
	bytes   [][]byte
	special []bool
	mask    int32
	pad     int32
	size    int // the model's vocabulary (logit rows), >= len(bytes)
}

// byte-level (GPT-2) alphabet: printable Latin-1 bytes stand for
// themselves, the others map in order to U+0100 onwards.
var byteLevel = func() map[rune]byte {
	m := make(map[rune]byte, 256)
	next := rune(256)
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE {
			m[rune(b)] = byte(b)
		} else {
			m[next] = byte(b)
			next++
		}
	}
	return m
}()

// tokenBytes maps a vocabulary string to raw bytes; strings outside the
// byte-level alphabet (added tokens) are their own UTF-8.
func tokenBytes(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := byteLevel[r]
		if !ok {
			return []byte(s)
		}
		out = append(out, b)
	}
	return out
}

var vocabCache sync.Map // *tokenizer.Tokenizer -> *vocab

func vocabOf(tok *tokenizer.Tokenizer, mask int32, modelVocab int, padName string) (*vocab, error) {
	pad, ok := tok.TokenID(padName)
	if !ok {
		return nil, fmt.Errorf("schema: pad token %q not in the vocabulary", padName)
	}
	type key struct {
		t    *tokenizer.Tokenizer
		mask int32
		pad  int32
	}
	k := key{tok, mask, pad}
	if v, ok := vocabCache.Load(k); ok {
		return v.(*vocab), nil
	}
	n := tok.VocabSize()
	v := &vocab{bytes: make([][]byte, n), special: make([]bool, n), mask: mask, pad: pad, size: max(n, modelVocab)}
	for id := range n {
		s := tok.Token(int32(id))
		v.bytes[id] = tokenBytes(s)
		// Added tokens (special or not, e.g. <|im_start|>) never go in slots.
		v.special[id] = tok.IsSpecial(int32(id)) || s == "" || !isByteLevel(s) || isAdded(tok, int32(id), s)
	}
	v.special[mask], v.special[pad] = true, true
	vocabCache.Store(k, v)
	return v, nil
}

// isAdded guesses added tokens written like markup (<think>, <|im_start|>):
// the tokenizer matches them whole.
func isAdded(tok *tokenizer.Tokenizer, id int32, s string) bool {
	if len(s) < 3 || s[0] != '<' || s[len(s)-1] != '>' {
		return false
	}
	enc := tok.Encode(s)
	return len(enc) == 1 && enc[0] == id
}

func isByteLevel(s string) bool {
	for _, r := range s {
		if _, ok := byteLevel[r]; !ok || r == utf8.RuneError {
			return false
		}
	}
	return true
}
