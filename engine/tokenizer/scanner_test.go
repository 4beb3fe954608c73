package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func pieces(sp splitter, s string) []string {
	var out []string
	sp.split(s, func(p string) { out = append(out, p) })
	return out
}

// randomText mixes characters of every class the patterns distinguish.
func randomText(rng *rand.Rand) string {
	alphabet := []string{
		"a", "b", "Z", "é", "ß", "你", "ك", "न", "्", "ि", "1", "٣", "½", "Ⅻ",
		" ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028",
		"'", "'s", "'S", "'re", "'VE", "'ll", "'D", "'m", "'t",
		".", ",", "!", "-", "_", "(", ")", "😀", "\u200d", "\ufe0f", "🏽",
	}
	var sb strings.Builder
	for n := rng.IntN(20); n >= 0; n-- {
		sb.WriteString(alphabet[rng.IntN(len(alphabet))])
	}
	return sb.String()
}

// TestScannerMatchesRegexp checks each hand-written scanner against
// regexp2 running the pattern it replaces.
func TestScannerMatchesRegexp(t *testing.T) {
	fixed := []string{
		"", " ", "  x", "x  ", "a \n\n b", " \t\r\n\t y", "Hello world", "don't STOP'S",
		"12345 67", "$foo", " ... ", "!!\n\n", "a\u00a0\u00a0b", "x\n \n", "'", "''s",
	}
	for _, pattern := range []string{patternQwen2, patternCL100K, patternGPT2} {
		sc, ok := knownScanner(pattern)
		if !ok {
			t.Fatalf("pattern not recognised: %s", pattern)
		}
		re, err := newRegexSplitter(pattern)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		cases := append([]string(nil), fixed...)
		for range 3000 {
			cases = append(cases, randomText(rng))
		}
		for _, s := range cases {
			got, want := pieces(sc, s), pieces(re, s)
			if !slices.Equal(got, want) {
				t.Fatalf("pattern %.20q… on %q:\n got %q\nwant %q", pattern, s, got, want)
			}
		}
	}
}

func TestKnownScannerRejectsOtherPatterns(t *testing.T) {
	for _, p := range []string{"", `\s+`, patternQwen2 + "|x", strings.ToUpper(patternGPT2)} {
		if _, ok := knownScanner(p); ok {
			t.Errorf("knownScanner(%q) = true", p)
		}
	}
}

// TestRegexTimeout checks that a catastrophic pattern gives up instead of
// hanging: the text then stays one piece.
func TestRegexTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about a second")
	}
	// Without the timeout this pattern would match single letters after an
	// exponential search for "b".
	re, err := newRegexSplitter(`(a+)+b|a`)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Repeat("a", 60) + "!"
	got := pieces(re, s)
	if len(got) != 1 || got[0] != s {
		t.Fatalf("got %d pieces, want the whole text as one", len(got))
	}
}
