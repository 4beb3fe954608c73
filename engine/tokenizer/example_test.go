package tokenizer_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"dlmstream/engine/tokenizer"
)

// A minimal tokenizer.json: byte-level BPE over the bytes "a", "b", "c"
// (a real file lists all 256 bytes) with two merges and one special token.
const tinyTokenizerJSON = `{
  "added_tokens": [{"id": 5, "content": "<|end|>", "special": true}],
  "normalizer": {"type": "NFC"},
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4},
            "merges": ["a b", ["ab", "c"]]}
}`

func ExampleFromJSON() {
	tok, err := tokenizer.FromJSON([]byte(tinyTokenizerJSON), nil)
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("abcab<|end|>")
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids, false))
	fmt.Printf("%q\n", tok.Decode(ids, true))
	fmt.Println(tok.VocabSize(), tok.IsSpecial(5))
	// Output:
	// [4 3 5]
	// "abcab<|end|>"
	// "abcab"
	// 6 true
}

func ExampleTokenizer_ApplyChatTemplate() {
	cfg := `{"chat_template": "{% for m in messages %}{{'<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>\n'}}{% endfor %}{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}"}`
	tok, err := tokenizer.FromJSON([]byte(tinyTokenizerJSON), []byte(cfg))
	if err != nil {
		log.Fatal(err)
	}
	thinking := false
	prompt, err := tok.ApplyChatTemplate([]tokenizer.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Hi"},
	}, tokenizer.ChatOptions{AddGenerationPrompt: true, EnableThinking: &thinking})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(prompt)
	// Output:
	// <|im_start|>system
	// Be brief.<|im_end|>
	// <|im_start|>user
	// Hi<|im_end|>
	// <|im_start|>assistant
	// <think>
	//
	// </think>
}

func ExampleLoad() {
	// The Qwen3 tokenizer is kept gzipped in testdata; Load wants a
	// directory holding tokenizer.json (and tokenizer_config.json).
	dir, err := os.MkdirTemp("", "qwen3")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := "../../testdata/tokenizer/qwen3/"
	gz, err := os.Open(src + "tokenizer.json.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		log.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		log.Fatal(err)
	}
	cfg, err := os.ReadFile(src + "tokenizer_config.json")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), cfg, 0o644); err != nil {
		log.Fatal(err)
	}

	tok, err := tokenizer.Load(dir)
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("Hello, world!<|im_end|>")
	fmt.Println(ids)
	var toks []string
	for _, id := range ids {
		toks = append(toks, tok.Token(id))
	}
	fmt.Printf("%q\n", toks)
	prompt, err := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: "Hi"}},
		tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", prompt)
	// Output:
	// [9707 11 1879 0 151645]
	// ["Hello" "," "Ġworld" "!" "<|im_end|>"]
	// "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
}
