package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FuzzEncodeDecode checks that decoding the encoding of valid, NFC-normal
// text gives the text back, and that the Qwen2 scanner splits exactly as
// regexp2 running the pattern does.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{
		"", "Hello, world!", "I'm here\r\n\tyou're there", "你好，世界", "👨‍👩‍👧‍👦 👍🏽",
		"func main() {\n\tfmt.Println(42)\n}", "  trailing  ", "<|im_start|>user\nhi<|im_end|>",
		"12345678901234567890", "नमस्ते دنیا",
	} {
		f.Add(s)
	}
	tok := qwen3(f)
	sc, _ := knownScanner(patternQwen2)
	re, err := newRegexSplitter(patternQwen2)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s) // must not panic, whatever the input
		if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
			t.Skip()
		}
		if got := tok.Decode(ids, false); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
		}
		if !strings.Contains(s, "<|") {
			if got := tok.Decode(ids, true); got != s {
				t.Fatalf("Decode(Encode(%q), skipSpecial) = %q", s, got)
			}
		}
		// Oniguruma folds 'ſ' to 's' in (?i:'s); regexp2 does not.
		if !strings.ContainsRune(s, 'ſ') {
			if got, want := pieces(sc, s), pieces(re, s); !slices.Equal(got, want) {
				t.Fatalf("scanner split %q = %q, regexp2 = %q", s, got, want)
			}
		}
	})
}
