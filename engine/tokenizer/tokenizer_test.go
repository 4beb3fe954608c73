package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyJSON is a small byte-level BPE tokenizer.json; edit patches it.
func tinyJSON(t *testing.T, edit func(f map[string]any)) []byte {
	t.Helper()
	vocab := map[string]any{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	vocab["ab"] = 256
	vocab["abc"] = 257
	f := map[string]any{
		"version":       "1.0",
		"normalizer":    map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"added_tokens": []any{
			map[string]any{"id": 258, "content": "<s>", "special": true},
			map[string]any{"id": 259, "content": "<x>", "special": false},
		},
		"model": map[string]any{
			"type": "BPE", "vocab": vocab, "merges": []any{"a b", []any{"ab", "c"}},
		},
	}
	if edit != nil {
		edit(f)
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func model(f map[string]any) map[string]any { return f["model"].(map[string]any) }

func TestTinyTokenizer(t *testing.T) {
	tok, err := FromJSON(tinyJSON(t, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		ids  []int32
	}{
		{"", []int32{}},
		{"abc", []int32{257}},
		{"ab", []int32{256}},
		{"cab", []int32{'c', 256}},
		{"<s>abc<x>", []int32{258, 257, 259}},
	}
	for _, tc := range tests {
		got := tok.Encode(tc.text)
		if len(got) != len(tc.ids) || !equalIDs(got, tc.ids) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.ids)
		}
	}
	if got := tok.Decode([]int32{258, 257, 259}, true); got != "abc<x>" {
		t.Errorf("Decode skip = %q", got)
	}
	if tok.VocabSize() != 260 {
		t.Errorf("VocabSize = %d, want 260", tok.VocabSize())
	}
	if id, ok := tok.TokenID("<x>"); !ok || id != 259 {
		t.Errorf("TokenID(<x>) = %d, %v", id, ok)
	}
	if id, ok := tok.TokenID("abc"); !ok || id != 257 {
		t.Errorf("TokenID(abc) = %d, %v", id, ok)
	}
	if _, ok := tok.TokenID("zzz"); ok {
		t.Error("TokenID(zzz) found")
	}
	if !tok.IsSpecial(258) || tok.IsSpecial(259) || tok.IsSpecial(1) || tok.IsSpecial(-1) || tok.IsSpecial(1000) {
		t.Error("IsSpecial wrong")
	}
	if tok.Token(256) != "ab" || tok.Token(-1) != "" || tok.Token(5000) != "" {
		t.Error("Token wrong")
	}
	if _, err := tok.ApplyChatTemplate([]Message{{"user", "x"}}, ChatOptions{}); err == nil {
		t.Error("ApplyChatTemplate without tokenizer_config.json: want error")
	}
}

func equalIDs(a, b []int32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestFromJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"malformed", []byte(`{"model": `), "parse tokenizer.json"},
		{"not an object", []byte(`[1,2]`), "parse tokenizer.json"},
		{"no model", tinyJSON(t, func(f map[string]any) { delete(f, "model") }), "missing model"},
		{"unigram", tinyJSON(t, func(f map[string]any) { model(f)["type"] = "Unigram" }), `model type "Unigram" (only BPE is supported) at model.type`},
		{"wordpiece", tinyJSON(t, func(f map[string]any) { model(f)["type"] = "WordPiece" }), `model type "WordPiece"`},
		{"normalizer", tinyJSON(t, func(f map[string]any) { f["normalizer"] = map[string]any{"type": "Lowercase"} }), `normalizer type "Lowercase" at normalizer`},
		{"nested normalizer", tinyJSON(t, func(f map[string]any) {
			f["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}, map[string]any{"type": "Strip"}}}
		}), `"Strip" at normalizer.normalizers[1]`},
		{"pre_tokenizer", tinyJSON(t, func(f map[string]any) { f["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }), `pre_tokenizer type "Metaspace" at pre_tokenizer`},
		{"split behavior", tinyJSON(t, func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "a"}, "behavior": "Removed"}}}
		}), `Split behavior "Removed" at pre_tokenizer.pretokenizers[0].behavior`},
		{"split invert", tinyJSON(t, func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "a"}, "behavior": "Isolated", "invert": true}
		}), "pre_tokenizer.invert"},
		{"split string", tinyJSON(t, func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"String": " "}, "behavior": "Isolated"}
		}), "pre_tokenizer.pattern"},
		{"bad regex", tinyJSON(t, func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(a"}, "behavior": "Isolated"}
		}), "pre_tokenizer.pattern.Regex"},
		{"decoder", tinyJSON(t, func(f map[string]any) { f["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder type "WordPiece" at decoder`},
		{"dropout", tinyJSON(t, func(f map[string]any) { model(f)["dropout"] = 0.1 }), "model.dropout"},
		{"subword prefix", tinyJSON(t, func(f map[string]any) { model(f)["continuing_subword_prefix"] = "##" }), "model.continuing_subword_prefix"},
		{"merge out of vocab", tinyJSON(t, func(f map[string]any) { model(f)["merges"] = []any{"a b", "q z"} }), "model.merges[1]"},
		{"merge malformed", tinyJSON(t, func(f map[string]any) { model(f)["merges"] = []any{"a b c"} }), "model.merges[0]"},
		{"merge pair malformed", tinyJSON(t, func(f map[string]any) { model(f)["merges"] = []any{[]any{"a"}} }), "model.merges[0]"},
		{"unk missing", tinyJSON(t, func(f map[string]any) { model(f)["unk_token"] = "<unk>" }), "model.unk_token"},
		{"empty added token", tinyJSON(t, func(f map[string]any) { f["added_tokens"] = []any{map[string]any{"id": 300, "content": ""}} }), "added_tokens[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromJSON(tc.data, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	if _, err := FromJSON(tinyJSON(t, nil), []byte(`{"chat_template": `)); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("malformed config: err = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil {
		t.Fatal("Load of an empty dir: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tinyJSON(t, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("abc"); len(got) != 1 || got[0] != 257 {
		t.Errorf("Encode = %v", got)
	}
	cfg := `{"chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{% endfor %}"}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if tok, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ApplyChatTemplate([]Message{{"user", "x"}}, ChatOptions{}); err != nil {
		t.Errorf("ChatML template: %v", err)
	}
}

func TestLossyUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"\xff", "\ufffd"},
		{"a\xffb", "a\ufffdb"},
		{"\xe4\xbd", "\ufffd"},                 // truncated 3-byte sequence: one U+FFFD
		{"\xe4\xbd\xe4\xbd\xa0", "\ufffd你"},    // truncated then complete
		{"\xf0\x9f\x98", "\ufffd"},             // truncated 4-byte sequence
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // surrogate: 0xA0 is not allowed after 0xED
		{"\xc0\x80", "\ufffd\ufffd"},           // overlong
		{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},
		{"\x80\x80", "\ufffd\ufffd"},
	}
	for _, tc := range tests {
		if got := lossyUTF8([]byte(tc.in)); got != tc.want {
			t.Errorf("lossyUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestChatTemplateQwen25(t *testing.T) {
	// The literal default system turn is what selects Qwen2.5 behaviour.
	cfg := `{"chat_template": "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"}`
	tok, err := FromJSON(tinyJSON(t, nil), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	const def = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
	no := false
	tests := []struct {
		name string
		msgs []Message
		opts ChatOptions
		want string
	}{
		{"default system", []Message{{"user", "hi"}}, ChatOptions{AddGenerationPrompt: true},
			def + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"},
		{"own system", []Message{{"system", "S"}, {"user", "hi"}, {"assistant", "yo"}}, ChatOptions{},
			"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n"},
		{"thinking ignored", []Message{{"user", "hi"}}, ChatOptions{AddGenerationPrompt: true, EnableThinking: &no},
			def + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"},
		{"tools grouped", []Message{{"user", "q"}, {"tool", "r1"}, {"tool", "r2"}, {"other", "dropped"}},
			ChatOptions{},
			def + "<|im_start|>user\nq<|im_end|>\n<|im_start|>user\n<tool_response>\nr1\n</tool_response>\n<tool_response>\nr2\n</tool_response><|im_end|>\n"},
	}
	for _, tc := range tests {
		got, err := tok.ApplyChatTemplate(tc.msgs, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestChatTemplateErrors(t *testing.T) {
	tok, err := FromJSON(tinyJSON(t, nil), []byte(`{"chat_template": "{{ bos_token }}[INST] {{ m }} [/INST]"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ApplyChatTemplate([]Message{{"user", "x"}}, ChatOptions{}); err == nil {
		t.Error("non-ChatML template: want error")
	}
	q := qwen3(t)
	if _, err := q.ApplyChatTemplate(nil, ChatOptions{}); err == nil {
		t.Error("no messages: want error")
	}
}

// TestConcurrentEncode shares one Tokenizer (and its cache) between
// goroutines; run with -race.
func TestConcurrentEncode(t *testing.T) {
	tok := qwen3(t)
	text := benchText(20000)
	want := tok.Encode(text)
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			got := tok.Encode(text)
			if !equalIDs(got, want) {
				errs <- "mismatch"
				return
			}
			errs <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

func TestChatTemplateDialects(t *testing.T) {
	tests := []struct {
		name     string
		template string
		ok       bool
	}{
		{"qwen3", `<|im_start|>{% if enable_thinking is false %}<think>{% endif %}`, true},
		{"chatml", `{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}`, true},
		{"qwq", `<|im_start|>assistant\n<think>\n`, false},
		{"llama", `<|start_header_id|>{{ m.role }}<|end_header_id|>`, false},
	}
	for _, tc := range tests {
		cfg, _ := json.Marshal(map[string]string{"chat_template": tc.template})
		tok, err := FromJSON(tinyJSON(t, nil), cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tok.ApplyChatTemplate([]Message{{"user", "x"}}, ChatOptions{})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// A list of named templates uses "default".
	cfg := `{"chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "<|im_start|>"}]}`
	tok, err := FromJSON(tinyJSON(t, nil), []byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.ApplyChatTemplate([]Message{{"user", "x"}}, ChatOptions{}); err != nil {
		t.Errorf("named templates: %v", err)
	}
}

// TestEncodeInvalidUTF8 encodes raw bytes that are not UTF-8: they are
// byte-level tokens and decode to U+FFFD.
func TestEncodeInvalidUTF8(t *testing.T) {
	tok := qwen3(t)
	for _, s := range []string{"\xff", "a\xe4\xbdb", "\x80\x80 x", "你\xe5"} {
		ids := tok.Encode(s)
		if len(ids) == 0 {
			t.Errorf("Encode(%q) is empty", s)
		}
		if got, want := tok.Decode(ids, false), lossyUTF8([]byte(s)); got != want {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
	}
}

// TestByteFallbackModel covers a non-byte-level BPE with byte_fallback, an
// unknown token and no decoder. Expected values come from HF tokenizers
// 0.23.3 on the same JSON.
func TestByteFallbackModel(t *testing.T) {
	const j = `{"normalizer": null, "pre_tokenizer": null, "decoder": null,
	  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
	    "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": true, "ignore_merges": false,
	    "vocab": {"a": 0, "b": 1, "ab": 2, "<0xC3>": 3, "<0xA9>": 4, "<unk>": 5, " ": 6}, "merges": ["a b"]}}`
	tok, err := FromJSON([]byte(j), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text    string
		ids     []int32
		decoded string
	}{
		{"ab", []int32{2}, "ab"},
		{"abé", []int32{2, 3, 4}, "ab <0xC3> <0xA9>"},
		{"a€b", []int32{0, 5, 1}, "a <unk> b"},
		{"a b", []int32{0, 6, 1}, "a   b"},
		{"zz", []int32{5, 5}, "<unk> <unk>"},
	}
	for _, tc := range tests {
		ids := tok.Encode(tc.text)
		if !equalIDs(ids, tc.ids) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, ids, tc.ids)
		}
		if got := tok.Decode(tc.ids, false); got != tc.decoded {
			t.Errorf("Decode(%v) = %q, want %q", tc.ids, got, tc.decoded)
		}
	}
}

func TestTokenBytes(t *testing.T) {
	tok := qwen3(t)
	for _, tt := range []struct {
		s, raw string
		text   bool
	}{{"Ġhello", " hello", true}, {"ä½ł", "你", true}, {"<|im_start|>", "<|im_start|>", false}, {"<think>", "<think>", false}} {
		id, ok := tok.TokenID(tt.s)
		if !ok {
			t.Fatalf("%q not in the vocabulary", tt.s)
		}
		if raw, text := tok.TokenBytes(id); string(raw) != tt.raw || text != tt.text {
			t.Errorf("TokenBytes(%q) = %q, %v; want %q, %v", tt.s, raw, text, tt.raw, tt.text)
		}
	}
	if raw, text := tok.TokenBytes(-1); raw != nil || text {
		t.Error("TokenBytes(-1) not empty")
	}
}
