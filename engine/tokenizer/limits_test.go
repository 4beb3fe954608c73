package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bpeJSON is a byte-level BPE tokenizer.json over "a", "b", "c" with the
// given model fields (JSON object members) and added tokens.
func bpeJSON(model, added string) []byte {
	if model == "" {
		model = `"vocab": {"a": 0, "b": 1, "c": 2, "ab": 3}, "merges": ["a b"]`
	}
	return []byte(`{"added_tokens": [` + added + `],
		"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"decoder": {"type": "ByteLevel"},
		"model": {"type": "BPE", ` + model + `}}`)
}

// sequence nests n Sequence normalizers around NFC.
func sequence(n int, kind, field, leaf string) string {
	return strings.Repeat(`{"type":"Sequence","`+field+`":[`, n) + leaf + strings.Repeat(`]}`, n)
}

// TestFromJSONLimits: absurd tables are refused with an error naming the
// entry before anything is allocated in proportion to them.
func TestFromJSONLimits(t *testing.T) {
	cases := []struct {
		name     string
		tok, cfg []byte
		want     string // in the error; "" for none
	}{
		{"tiny", bpeJSON("", ""), nil, ""},
		{"id at the limit", bpeJSON(fmt.Sprintf(`"vocab": {"a": 0, "b": %d}`, MaxVocab-1), ""), nil, ""},
		{"vocab id 2e9", bpeJSON(`"vocab": {"a": 0, "b": 2000000000}`, ""), nil, `model.vocab["b"]: id 2000000000 is outside [0, 1048576)`},
		{"vocab id at MaxVocab", bpeJSON(fmt.Sprintf(`"vocab": {"a": 0, "zz": %d, "b": %d}`, MaxVocab, MaxVocab+7), ""), nil, fmt.Sprintf(`model.vocab["b"]: id %d`, MaxVocab+7)},
		{"negative vocab id", bpeJSON(`"vocab": {"a": -3}`, ""), nil, `model.vocab["a"]: id -3`},
		{"vocab id over int32", bpeJSON(`"vocab": {"a": 4294967296}`, ""), nil, "model.vocab"},
		{"added id 2e9", bpeJSON("", `{"id": 2000000000, "content": "<x>"}`), nil, "added_tokens[0]: id 2000000000 is not below 1048576"},
		{"negative added id", bpeJSON("", `{"id": -1, "content": "<x>"}`), nil, "added_tokens[0]: negative id -1"},
		{"too many merges", bpeJSON(`"vocab": {"a": 0}, "merges": [`+strings.Repeat(`[],`, MaxMerges)+`[]]`, ""), nil, "model.merges has 2097153 entries, over the limit of 2097152"},
		{"tokenizer.json too large", make([]byte, MaxTokenizerJSONBytes+1), nil, "tokenizer.json is 67108865 bytes, over the 67108864-byte limit"},
		{"config too large", bpeJSON("", ""), make([]byte, MaxConfigJSONBytes+1), "tokenizer_config.json is 16777217 bytes"},
		{"normalizers nested to the limit", []byte(`{"normalizer": ` + sequence(maxNesting, "", "normalizers", `{"type":"NFC"}`) + `, "model": {"type": "BPE", "vocab": {}}}`), nil, ""},
		{"normalizers nested 3000 deep", []byte(`{"normalizer": ` + sequence(3000, "", "normalizers", `{"type":"NFC"}`) + `, "model": {"type": "BPE", "vocab": {}}}`), nil, "Sequence nested deeper than 8 levels"},
		{"pre-tokenizers nested 3000 deep", []byte(`{"pre_tokenizer": ` + sequence(3000, "", "pretokenizers", `{"type":"ByteLevel"}`) + `, "model": {"type": "BPE", "vocab": {}}}`), nil, "pre_tokenizer" + strings.Repeat(".pretokenizers[0]", maxNesting) + ": Sequence nested deeper"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := FromJSON(c.tok, c.cfg)
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tok.VocabSize() > MaxVocab {
					t.Fatalf("vocab size %d", tok.VocabSize())
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "tokenizer: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestLoadLimits: Load refuses a file over its limit before reading it.
func TestLoadLimits(t *testing.T) {
	cases := []struct {
		name, file string
		size       int64
	}{
		{"tokenizer.json", "tokenizer.json", MaxTokenizerJSONBytes + 1},
		{"tokenizer_config.json", "tokenizer_config.json", MaxConfigJSONBytes + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), bpeJSON("", ""), 0o644); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.file)
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(c.size); err != nil { // sparse: no disk used
				t.Fatal(err)
			}
			f.Close()
			_, err = Load(dir)
			want := fmt.Sprintf("%s is %d bytes, over the", path, c.size)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one containing %q", err, want)
			}
		})
	}
}
