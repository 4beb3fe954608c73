package schema

import (
	"fmt"
	"sync"

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
		raw, text := tok.TokenBytes(int32(id))
		v.bytes[id] = raw
		// Only text pieces go in slots: never added tokens (special or not,
		// e.g. <|im_start|>, <think>) or pieces outside the byte-level alphabet.
		v.special[id] = !text
	}
	v.special[mask], v.special[pad] = true, true
	vocabCache.Store(k, v)
	return v, nil
}
