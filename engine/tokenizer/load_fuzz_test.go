package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLoadTokenizerJSON loads arbitrary tokenizer.json and
// tokenizer_config.json bytes, then encodes text with the result. Seeds
// (testdata/fuzz/FuzzLoadTokenizerJSON) hold small real files, absurd ids
// and table sizes, deep Sequences and bad regexes. Invariants: a refused
// file gets an error starting "tokenizer: "; an accepted one has at most
// MaxVocab ids, encodes any text to ids below VocabSize without panicking,
// decodes them, and for a plain byte-level BPE (every byte a token, no
// normalizer, no prefix space) gives the text back.
func FuzzLoadTokenizerJSON(f *testing.F) {
	f.Add(bpeJSON("", `{"id": 4, "content": "<|end|>", "special": true}`), []byte(nil), "abcab<|end|> ab")
	f.Add(bpeJSON(`"vocab": {"a": 0, "b": 2000000000}`, ""), []byte(`{"chat_template": "<|im_start|>"}`), "ab")
	f.Fuzz(func(t *testing.T, tokJSON, cfgJSON []byte, text string) {
		if len(cfgJSON) == 0 {
			cfgJSON = nil
		}
		tok, err := FromJSON(tokJSON, cfgJSON)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error %q does not say it is the tokenizer's", err)
			}
			return
		}
		if n := tok.VocabSize(); n > MaxVocab {
			t.Fatalf("vocab size %d over MaxVocab", n)
		}
		for _, s := range []string{text, "", "Hello, world!\n\tü€😀", "<|end|>abc"} {
			ids := tok.Encode(s)
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("Encode(%q) = %v: id %d outside [0, %d)", s, ids, id, tok.VocabSize())
				}
			}
			got := tok.Decode(ids, false)
			tok.Decode(ids, true)
			if plainByteLevel(tok, s) && got != s {
				t.Fatalf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
			}
		}
		_, _ = tok.ApplyChatTemplate([]Message{{Role: "user", Content: text}}, ChatOptions{AddGenerationPrompt: true})
	})
}

// plainByteLevel reports whether tok must give s back from its ids: a
// byte-level BPE whose vocabulary has every byte, no normalizer or prefix
// space, ids shared by no two vocabulary tokens nor by an added token and
// a different vocabulary token, and s valid UTF-8 holding no added token.
func plainByteLevel(tok *Tokenizer, s string) bool {
	m := tok.model
	if !m.byteLevel || !tok.byteLevelDecoder || len(tok.norm.forms) > 0 || !utf8.ValidString(s) {
		return false
	}
	if slices.Contains(m.byteIDs[:], -1) || slices.ContainsFunc(tok.pre.stages, func(st splitter) bool { _, ok := st.(prefixSpace); return ok }) {
		return false
	}
	for _, a := range tok.added {
		if strings.Contains(s, a.Content) || tok.idToToken[a.ID] != a.Content {
			return false
		}
		if id, ok := m.vocab[a.Content]; ok && id != a.ID {
			return false
		}
	}
	for t, id := range m.vocab {
		if tok.idToToken[id] != t {
			return false
		}
	}
	return true
}
