package asr_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"dlmstream/asr"
)

func TestAlign(t *testing.T) {
	tests := []struct {
		name     string
		ref, hyp string
		want     asr.Edits
	}{
		{"both empty", "", "", asr.Edits{}},
		{"empty ref: all insertions", "", "a b c", asr.Edits{Insertions: 3}},
		{"empty hyp: all deletions", "a b c", "", asr.Edits{Deletions: 3}},
		{"identical", "the cat sat", "the cat sat", asr.Edits{Hits: 3}},
		{"one substitution", "the cat sat", "the hat sat", asr.Edits{Hits: 2, Substitutions: 1}},
		{"one deletion", "the cat sat", "the sat", asr.Edits{Hits: 2, Deletions: 1}},
		{"one insertion", "the cat sat", "the black cat sat", asr.Edits{Hits: 3, Insertions: 1}},
		{"all different", "a b", "c d e", asr.Edits{Substitutions: 2, Insertions: 1}},
		// Hand-computed, and the only 3-edit alignment (checked by enumerating all optimal
		// ones): set=set, "the" deleted, kitchen=kitchen, lights→light, to=to, fifty=fifty,
		// "five" inserted, percent=percent.
		{"hand computed", "set the kitchen lights to fifty percent", "set kitchen light to fifty five percent",
			asr.Edits{Hits: 5, Substitutions: 1, Deletions: 1, Insertions: 1}},
		// Two 4-edit alignments, H3 S1 D1 I2 and H2 S3 I1: from the end, a diagonal step is
		// preferred over a deletion or insertion.
		{"tie between splits", "turn on the hallway oven", "turn the hall way oven lights",
			asr.Edits{Hits: 2, Substitutions: 3, Insertions: 1}},
		// Two equally short alignments (S S, or D H I): the diagonal is preferred.
		{"tie prefers substitutions", "a b", "b c", asr.Edits{Substitutions: 2}},
		{"repeated words", "a a a b", "a b b", asr.Edits{Hits: 2, Substitutions: 1, Deletions: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := asr.Align(strings.Fields(tt.ref), strings.Fields(tt.hyp))
			if got != tt.want {
				t.Errorf("Align(%q, %q) = %v, want %v", tt.ref, tt.hyp, got, tt.want)
			}
		})
	}
}

// levenshtein is an independent reference: the plain two-row word edit distance, as in
// tools/train/speech/eval.py's wer_counts.
func levenshtein(r, h []string) int {
	prev := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur := make([]int, len(h)+1)
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, sub)
		}
		prev = cur
	}
	return prev[len(h)]
}

func TestAlignRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	words := func() []string {
		w := make([]string, rng.IntN(12))
		for i := range w {
			w[i] = string(rune('a' + rng.IntN(4)))
		}
		return w
	}
	for range 2000 {
		r, h := words(), words()
		e := asr.Align(r, h)
		if e.Errors() != levenshtein(r, h) || e.RefWords() != len(r) || e.Hits+e.Substitutions+e.Insertions != len(h) {
			t.Fatalf("Align(%q, %q) = %v: distance %d (want %d), counts inconsistent with lengths %d/%d",
				r, h, e, e.Errors(), levenshtein(r, h), len(r), len(h))
		}
	}
}

func TestEditsWER(t *testing.T) {
	tests := []struct {
		e    asr.Edits
		want float64
	}{
		{asr.Edits{}, 0},
		{asr.Edits{Hits: 4}, 0},
		{asr.Edits{Insertions: 2}, math.Inf(1)},
		{asr.Edits{Hits: 3, Substitutions: 1, Deletions: 1, Insertions: 2}, 4.0 / 5},
	}
	for _, tt := range tests {
		if got := tt.e.WER(); got != tt.want {
			t.Errorf("%v.WER() = %g, want %g", tt.e, got, tt.want)
		}
	}
}

func TestCorpusIsCorpusLevel(t *testing.T) {
	var c asr.Corpus
	c.Add("one", "two")                                        // 1 error / 1 word
	c.Add("a b c d e f g h i", "a b c d e f g h i")            // 0 / 9
	if got, want := c.WER(), 0.1; math.Abs(got-want) > 1e-12 { // mean of utterance WERs would be 0.5
		t.Errorf("corpus WER = %g, want %g", got, want)
	}
	if c.Utterances != 2 || c.ExactMatches != 1 || c.RefWords() != 10 {
		t.Errorf("counts %+v", c)
	}
	var d asr.Corpus
	d.Add("x y", "x")
	c.Merge(d)
	if c.Utterances != 3 || c.Deletions != 1 || c.RefWords() != 12 {
		t.Errorf("after Merge: %+v", c)
	}
}

func TestCorpusNormalizers(t *testing.T) {
	ref := "Set the temperature to eleven degrees."
	hyp := "set the temperature to 11 degrees"
	tests := []struct {
		name   string
		n      asr.Normalizer
		errors int
	}{
		{"none", nil, 3},                                 // Set/set, eleven/11, degrees./degrees
		{"basic", asr.BasicNormalizer{}, 1},              // digits are dropped: "eleven" deleted
		{"english", asr.EnglishNormalizer{}, 0},          // both "set the temperature to 11 degrees"
		{"func", asr.NormalizerFunc(strings.ToLower), 2}, // eleven/11, degrees./degrees
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := asr.Corpus{Normalizer: tt.n}
			if e := c.Add(ref, hyp); e.Errors() != tt.errors {
				t.Errorf("errors = %d (%v), want %d", e.Errors(), e, tt.errors)
			}
		})
	}
}

func ExampleCorpus() {
	c := asr.Corpus{Normalizer: asr.EnglishNormalizer{}}
	c.Add("Turn on the hallway oven.", "turn on the hallway oven")
	c.Add("Set the temperature to eleven degrees.", "set the temperature to 11 degrees")
	c.Add("Call Kate", "call cate now")
	fmt.Println(&c)
	fmt.Printf("%.4f\n", c.WER())
	// Output:
	// WER 15.38% (S=1 D=0 I=1 N=13; 3 utterances, 2 exact)
	// 0.1538
}

func ExampleAlign() {
	e := asr.Align(strings.Fields("set the kitchen lights to fifty percent"),
		strings.Fields("set kitchen light to fifty five percent"))
	fmt.Println(e, "errors:", e.Errors(), "WER:", e.WER())
	// Output: H=5 S=1 D=1 I=1 errors: 3 WER: 0.42857142857142855
}

func ExampleEnglishNormalizer() {
	var n asr.EnglishNormalizer
	fmt.Println(n.Normalize("Mr. Smith paid twenty dollars for three hundred and twelve colourful programmes!"))
	fmt.Println(asr.BasicNormalizer{}.Normalize("Mr. Smith paid $20, didn't he?"))
	// Output:
	// mister smith paid $20 for 312 colorful programs
	// mr smith paid didn't he
}
