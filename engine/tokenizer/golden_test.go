package tokenizer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// The goldens come from HF tokenizers and jinja2 via
// tools/reference/tokenizer_golden.py; rerun that script to refresh them.
const qwen3Dir = "../../testdata/tokenizer/qwen3"

var (
	qwen3Once sync.Once
	qwen3JSON []byte
	qwen3Cfg  []byte
	qwen3Tok  *Tokenizer
	qwen3Err  error
)

// qwen3 returns the shared Qwen3 tokenizer (loaded once).
func qwen3(tb testing.TB) *Tokenizer {
	tb.Helper()
	qwen3Once.Do(func() {
		qwen3JSON, qwen3Err = readGzip(filepath.Join(qwen3Dir, "tokenizer.json.gz"))
		if qwen3Err != nil {
			return
		}
		qwen3Cfg, qwen3Err = os.ReadFile(filepath.Join(qwen3Dir, "tokenizer_config.json"))
		if qwen3Err != nil {
			return
		}
		qwen3Tok, qwen3Err = FromJSON(qwen3JSON, qwen3Cfg)
	})
	if qwen3Err != nil {
		tb.Fatal(qwen3Err)
	}
	return qwen3Tok
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// readJSONL decodes each line of a golden file into a new T.
func readJSONL[T any](t *testing.T, name string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(qwen3Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var rows []T
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows = append(rows, r)
	}
	return rows
}

type encodeCase struct {
	Text        string  `json:"text"`
	IDs         []int32 `json:"ids"`
	Decoded     string  `json:"decoded"`
	DecodedSkip string  `json:"decoded_skip"`
}

// checkEncode compares Encode and Decode with one HF golden row.
func checkEncode(t *testing.T, tok *Tokenizer, i int, c encodeCase) {
	t.Helper()
	if c.IDs == nil {
		c.IDs = []int32{}
	}
	got := tok.Encode(c.Text)
	if !slices.Equal(got, c.IDs) {
		t.Errorf("case %d Encode(%q)\n got %v\nwant %v", i, c.Text, got, c.IDs)
		return
	}
	if d := tok.Decode(c.IDs, false); d != c.Decoded {
		t.Errorf("case %d Decode(%v, false) = %q, want %q", i, c.IDs, d, c.Decoded)
	}
	if d := tok.Decode(c.IDs, true); d != c.DecodedSkip {
		t.Errorf("case %d Decode(%v, true) = %q, want %q", i, c.IDs, d, c.DecodedSkip)
	}
}

func TestQwen3EncodeGolden(t *testing.T) {
	tok := qwen3(t)
	rows := readJSONL[encodeCase](t, "golden.jsonl")
	if len(rows) < 300 {
		t.Fatalf("only %d golden cases", len(rows))
	}
	for _, cache := range []bool{true, false} {
		tok.model.useCache = cache
		for i, c := range rows {
			checkEncode(t, tok, i, c)
		}
	}
	tok.model.useCache = true
}

// TestQwen3RegexFallbackGolden forces the regexp2 path for the Qwen2
// pattern and checks it against the same goldens.
func TestQwen3RegexFallbackGolden(t *testing.T) {
	qwen3(t)
	tok, err := FromJSON(qwen3JSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := newRegexSplitter(patternQwen2)
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range tok.pre.stages {
		if _, ok := st.(*scanner); ok {
			tok.pre.stages[i] = rs
		}
	}
	for i, c := range readJSONL[encodeCase](t, "golden.jsonl") {
		checkEncode(t, tok, i, c)
	}
}

func TestQwen3DecodeGolden(t *testing.T) {
	tok := qwen3(t)
	for i, c := range readJSONL[encodeCase](t, "decode_golden.jsonl") {
		if d := tok.Decode(c.IDs, false); d != c.Decoded {
			t.Errorf("case %d Decode(%v, false) = %q, want %q", i, c.IDs, d, c.Decoded)
		}
		if d := tok.Decode(c.IDs, true); d != c.DecodedSkip {
			t.Errorf("case %d Decode(%v, true) = %q, want %q", i, c.IDs, d, c.DecodedSkip)
		}
	}
}

// TestAddedTokenFlagsGolden adds tokens with lstrip, rstrip, single_word
// and normalized set (as HF's add_tokens did for the golden) and compares.
func TestAddedTokenFlagsGolden(t *testing.T) {
	qwen3(t)
	type header struct {
		AddedTokens []map[string]any `json:"added_tokens"`
	}
	hdr := readJSONL[header](t, "added_golden.jsonl")[0]
	var file map[string]any
	if err := json.Unmarshal(qwen3JSON, &file); err != nil {
		t.Fatal(err)
	}
	added := file["added_tokens"].([]any)
	for _, a := range hdr.AddedTokens {
		added = append(added, a)
	}
	file["added_tokens"] = added
	modified, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromJSON(modified, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := readJSONL[encodeCase](t, "added_golden.jsonl")[1:]
	for i, c := range rows {
		checkEncode(t, tok, i, c)
	}
}

func TestQwen3ChatGolden(t *testing.T) {
	tok := qwen3(t)
	type chatCase struct {
		Messages            []Message `json:"messages"`
		AddGenerationPrompt bool      `json:"add_generation_prompt"`
		EnableThinking      *bool     `json:"enable_thinking"`
		Rendered            string    `json:"rendered"`
	}
	rows := readJSONL[chatCase](t, "chat_golden.jsonl")
	if len(rows) == 0 {
		t.Fatal("no chat goldens")
	}
	for i, c := range rows {
		got, err := tok.ApplyChatTemplate(c.Messages, ChatOptions{AddGenerationPrompt: c.AddGenerationPrompt, EnableThinking: c.EnableThinking})
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got != c.Rendered {
			t.Errorf("case %d %+v gen=%v think=%v\n got %q\nwant %q", i, c.Messages, c.AddGenerationPrompt, c.EnableThinking, got, c.Rendered)
		}
	}
}

// TestVariantsGolden patches the Qwen3 tokenizer.json the way the script
// did (GPT-2 ByteLevel with and without prefix space, the cl100k pattern,
// an unknown pattern on the regexp2 path, ignore_merges) and compares.
func TestVariantsGolden(t *testing.T) {
	qwen3(t)
	type row struct {
		Variant string         `json:"variant"`
		Top     map[string]any `json:"top"`
		Model   map[string]any `json:"model"`
		encodeCase
	}
	var tok *Tokenizer
	n := 0
	for _, r := range readJSONL[row](t, "variants_golden.jsonl") {
		if r.Top != nil || r.Model != nil {
			var file map[string]any
			if err := json.Unmarshal(qwen3JSON, &file); err != nil {
				t.Fatal(err)
			}
			for k, v := range r.Top {
				file[k] = v
			}
			model := file["model"].(map[string]any)
			for k, v := range r.Model {
				model[k] = v
			}
			data, err := json.Marshal(file)
			if err != nil {
				t.Fatal(err)
			}
			if tok, err = FromJSON(data, nil); err != nil {
				t.Fatalf("%s: %v", r.Variant, err)
			}
			continue
		}
		t.Run(r.Variant, func(t *testing.T) { checkEncode(t, tok, n, r.encodeCase) })
		n++
	}
	if n == 0 {
		t.Fatal("no variant cases")
	}
}
