package asr

// Goldens: testdata/golden/asr/normalizer.json, written by openai-whisper's
// EnglishTextNormalizer (checked equal to transformers' copy) and by
// tools/train/speech/eval.py's norm_words. Regenerate from the repository root with
//
//	python3 tools/reference/asr_goldens.py normalizer
//
// (see testdata/golden/asr/README.md for the pinned Python packages).

import (
	"encoding/json"
	"os"
	"testing"
)

type normalizerCase struct {
	Source  string `json:"source"` // "heldout" transcript or "hard" hand-written case
	In      string `json:"in"`
	English string `json:"english"`
	Basic   string `json:"basic"`
}

// englishKnownDiffs lists inputs whose Go output may differ from Python's, with the reason.
// Every held-out transcript must match.
var englishKnownDiffs = map[string]string{}

func loadNormalizerGolden(t *testing.T) []normalizerCase {
	t.Helper()
	b, err := os.ReadFile("../testdata/golden/asr/normalizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []normalizerCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 300 {
		t.Fatalf("only %d golden strings", len(doc.Cases))
	}
	return doc.Cases
}

func TestEnglishNormalizerGolden(t *testing.T) {
	cases := loadNormalizerGolden(t)
	var n EnglishNormalizer
	match, heldout := 0, 0
	for _, c := range cases {
		if c.Source == "heldout" {
			heldout++
		}
		got := n.Normalize(c.In)
		if got == c.English {
			match++
			if _, ok := englishKnownDiffs[c.In]; ok {
				t.Errorf("%q now matches; remove it from englishKnownDiffs", c.In)
			}
			continue
		}
		if reason, ok := englishKnownDiffs[c.In]; ok && c.Source != "heldout" {
			t.Logf("known difference on %q (%s): got %q, want %q", c.In, reason, got, c.English)
			continue
		}
		t.Errorf("EnglishNormalizer(%q) [%s]\n got %q\nwant %q", c.In, c.Source, got, c.English)
	}
	t.Logf("EnglishNormalizer: %d/%d golden strings identical (%d held-out transcripts)", match, len(cases), heldout)
}

func TestBasicNormalizerGolden(t *testing.T) {
	cases := loadNormalizerGolden(t)
	var n BasicNormalizer
	match := 0
	for _, c := range cases {
		if got := n.Normalize(c.In); got != c.Basic {
			t.Errorf("BasicNormalizer(%q)\n got %q\nwant %q", c.In, got, c.Basic)
			continue
		}
		match++
	}
	t.Logf("BasicNormalizer: %d/%d golden strings identical", match, len(cases))
}

func TestEnglishNormalizerExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{"three hundred and twelve", "312"},
		{"twenty first", "21st"},
		{"ten thirty five pm", "1035 pm"},
		{"The colour of the theatre", "the color of the theater"},
		{"I won't go (maybe) [noise]", "i will not go"},
		{"Twenty dollars, ninety percent!", "$20 90%"},
		{"Twenty dollars and seven cents", "$20.07"},
		{"one oh one", "101"},
		{"five and a half", "5.5"},
		{"The U.K.'s colour", "the u k is color"},
		{"Café crème", "cafe creme"},
	}
	var n EnglishNormalizer
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := n.Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzEnglishNormalizer(f *testing.F) {
	for _, s := range []string{"three hundred and twelve", "$2 and 7 cents", "(a) [b] <c>", "one point", "ΟΔΟΣ"} {
		f.Add(s)
	}
	var n EnglishNormalizer
	f.Fuzz(func(t *testing.T, s string) {
		_ = n.Normalize(s) // must not panic
		_ = BasicNormalizer{}.Normalize(s)
	})
}

func BenchmarkEnglishNormalizer(b *testing.B) {
	s := "On March 3rd, 2021, Dr. Smith paid $1,250.50 (about 90%) for twenty one colourful programmes."
	var n EnglishNormalizer
	for b.Loop() {
		n.Normalize(s)
	}
}
