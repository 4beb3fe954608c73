package vision

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// metricsGolden is testdata/golden/vision/metrics.json, written by
// tools/reference/caption_metrics_golden.py from pycocoevalcap 1.2.
type metricsGolden struct {
	Tokenizer []struct {
		In     string `json:"in"`
		Tokens string `json:"tokens"`
	} `json:"tokenizer"`
	Sets []struct {
		Name  string              `json:"name"`
		IDs   []string            `json:"ids"`
		Cands map[string]string   `json:"cands"`
		Refs  map[string][]string `json:"refs"`
		PTB   struct {
			metricScores
			Cands map[string]string   `json:"cands"` // PTBTokenizer's output, tokens joined by spaces
			Refs  map[string][]string `json:"refs"`
		} `json:"ptb"`
		Split metricScores `json:"split"`
	} `json:"sets"`
}

type metricScores struct {
	CIDEr         float64              `json:"cider"`
	CIDErPerImage map[string]float64   `json:"cider_per_image"`
	BLEU          []float64            `json:"bleu"`
	BLEUPerImage  map[string][]float64 `json:"bleu_per_image"`
}

const metricTol = 1e-6

func loadMetricsGolden(t *testing.T) *metricsGolden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g metricsGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func TestMetricTokenizerMatchesPTB(t *testing.T) {
	g := loadMetricsGolden(t)
	if len(g.Tokenizer) < 100 {
		t.Fatalf("only %d tokenizer cases in the golden", len(g.Tokenizer))
	}
	for _, c := range g.Tokenizer {
		if got := strings.Join(TokenizeCaption(c.In), " "); got != c.Tokens {
			t.Errorf("TokenizeCaption(%q) = %q, PTBTokenizer %q", c.In, got, c.Tokens)
		}
	}
}

// TestMetricsMatchPycocoevalcap scores every golden set three ways: raw captions
// through TokenizeCaption (COCOEvalCap's path), PTBTokenizer's own tokens (the
// scorers alone), and raw captions split on whitespace.
func TestMetricsMatchPycocoevalcap(t *testing.T) {
	g := loadMetricsGolden(t)
	var maxCorpus, maxImage float64
	check := func(t *testing.T, s *CaptionSet, want metricScores) {
		t.Helper()
		cider, ciderPer := s.CIDErD()
		bleu, bleuPer, err := s.BLEU(4)
		if err != nil {
			t.Fatal(err)
		}
		diff := func(name string, got, want float64, corpus bool) {
			t.Helper()
			d := math.Abs(got - want)
			if corpus {
				maxCorpus = max(maxCorpus, d)
			} else {
				maxImage = max(maxImage, d)
			}
			if !(d <= metricTol) {
				t.Errorf("%s = %.12g, pycocoevalcap %.12g (diff %.3g)", name, got, want, d)
			}
		}
		diff("CIDEr-D", cider, want.CIDEr, true)
		if len(bleu) != 4 || len(want.BLEU) != 4 {
			t.Fatalf("BLEU has %d scores, golden %d", len(bleu), len(want.BLEU))
		}
		for k := range 4 {
			diff("BLEU-"+string(rune('1'+k)), bleu[k], want.BLEU[k], true)
		}
		if len(ciderPer) != len(want.CIDErPerImage) || len(bleuPer) != len(want.BLEUPerImage) {
			t.Fatalf("%d/%d per-image scores, golden %d/%d", len(ciderPer), len(bleuPer), len(want.CIDErPerImage), len(want.BLEUPerImage))
		}
		for id, w := range want.CIDErPerImage {
			diff("CIDEr-D["+id+"]", ciderPer[id], w, false)
			for k := range 4 {
				diff("BLEU-"+string(rune('1'+k))+"["+id+"]", bleuPer[id][k], want.BLEUPerImage[id][k], false)
			}
		}
	}
	for _, set := range g.Sets {
		t.Run(set.Name, func(t *testing.T) {
			t.Run("ptb", func(t *testing.T) {
				s, err := NewCaptionSet(set.Cands, set.Refs, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range set.IDs {
					if got := strings.Join(TokenizeCaption(set.Cands[id]), " "); got != set.PTB.Cands[id] {
						t.Errorf("%s candidate %q: tokens %q, PTBTokenizer %q", id, set.Cands[id], got, set.PTB.Cands[id])
					}
					for k, r := range set.Refs[id] {
						if got := strings.Join(TokenizeCaption(r), " "); got != set.PTB.Refs[id][k] {
							t.Errorf("%s reference %q: tokens %q, PTBTokenizer %q", id, r, got, set.PTB.Refs[id][k])
						}
					}
				}
				check(t, s, set.PTB.metricScores)
			})
			t.Run("ptb-tokens", func(t *testing.T) {
				s, err := NewCaptionSet(set.PTB.Cands, set.PTB.Refs, strings.Fields)
				if err != nil {
					t.Fatal(err)
				}
				check(t, s, set.PTB.metricScores)
			})
			t.Run("split", func(t *testing.T) {
				s, err := NewCaptionSet(set.Cands, set.Refs, strings.Fields)
				if err != nil {
					t.Fatal(err)
				}
				check(t, s, set.Split)
			})
		})
	}
	t.Logf("%d sets: max |diff| corpus %.3g, per image %.3g", len(g.Sets), maxCorpus, maxImage)
}

func TestMetricGoldenCoverage(t *testing.T) {
	g := loadMetricsGolden(t)
	for _, set := range g.Sets {
		if set.Name != "main" {
			continue
		}
		if len(set.IDs) < 40 {
			t.Errorf("main set has %d images, want >= 40", len(set.IDs))
		}
		var heldout int
		for _, id := range set.IDs {
			if n := len(set.Refs[id]); n < 1 || n > 5 {
				t.Errorf("%s has %d references", id, n)
			}
			if strings.HasPrefix(id, "heldout-") {
				heldout++
			}
		}
		if heldout == 0 {
			t.Error("main set has no held-out images")
		}
		return
	}
	t.Fatal("no main set in the golden")
}

func TestMetricEdgeCases(t *testing.T) {
	const eps = 1e-12
	tests := []struct {
		name  string
		cands map[string]string
		refs  map[string][]string
		cider float64            // corpus CIDEr-D
		per   map[string]float64 // per-image CIDEr-D, when checked
		bleu  []float64          // corpus BLEU-1..4
	}{
		{
			name:  "single image: log(1) = 0 weights every n-gram 0",
			cands: map[string]string{"a": "a dog on a couch"},
			refs:  map[string][]string{"a": {"A dog on a couch.", "A dog sleeping on a sofa."}},
			cider: 0,
			// 5/5, 4/4, 3/3, 2/2 matched against the closest reference (5 tokens)
			bleu: []float64{bleuK(t, 1, [][2]int{{5, 5}}, 5, 5), bleuK(t, 2, [][2]int{{5, 5}, {4, 4}}, 5, 5),
				bleuK(t, 3, [][2]int{{5, 5}, {4, 4}, {3, 3}}, 5, 5), bleuK(t, 4, [][2]int{{5, 5}, {4, 4}, {3, 3}, {2, 2}}, 5, 5)},
		},
		{
			name:  "no overlap",
			cands: map[string]string{"a": "a red bus", "b": "purple mountains"},
			refs:  map[string][]string{"a": {"the cat sleeps"}, "b": {"one man rides"}},
			cider: 0,
			per:   map[string]float64{"a": 0, "b": 0},
			// nothing correct: (1e-15/(5+1e-9)), and 5 candidate tokens against 6 reference tokens
			bleu: []float64{bleuK(t, 1, [][2]int{{0, 5}}, 5, 6), bleuK(t, 2, [][2]int{{0, 5}, {0, 3}}, 5, 6),
				bleuK(t, 3, [][2]int{{0, 5}, {0, 3}, {0, 1}}, 5, 6), bleuK(t, 4, [][2]int{{0, 5}, {0, 3}, {0, 1}, {0, 0}}, 5, 6)},
		},
		{
			name:  "empty candidates score 0",
			cands: map[string]string{"a": "", "b": " . ! "},
			refs:  map[string][]string{"a": {"a man on a horse"}, "b": {"a woman with an umbrella"}},
			cider: 0,
			per:   map[string]float64{"a": 0, "b": 0},
			bleu:  []float64{0, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cider, per, err := CIDErD(tt.cands, tt.refs)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(cider-tt.cider) > eps {
				t.Errorf("CIDEr-D = %g, want %g", cider, tt.cider)
			}
			for id, w := range tt.per {
				if math.Abs(per[id]-w) > eps {
					t.Errorf("CIDEr-D[%s] = %g, want %g", id, per[id], w)
				}
			}
			bleu, _, err := BLEU(tt.cands, tt.refs, 4)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range tt.bleu {
				if math.Abs(bleu[k]-w) > eps {
					t.Errorf("BLEU-%d = %.17g, want %.17g", k+1, bleu[k], w)
				}
			}
		})
	}
}

// bleuK is BLEU-k by bleu_scorer.py's formula from (correct, guess) pairs and lengths.
func bleuK(t *testing.T, k int, counts [][2]int, testLen, refLen int) float64 {
	t.Helper()
	if len(counts) != k {
		t.Fatalf("bleuK(%d) with %d counts", k, len(counts))
	}
	b := 1.0
	for _, c := range counts {
		b *= (float64(c[0]) + 1e-15) / (float64(c[1]) + 1e-9)
	}
	b = math.Pow(b, 1/float64(k))
	if ratio := (float64(testLen) + 1e-15) / (float64(refLen) + 1e-9); ratio < 1 {
		b *= math.Exp(1 - 1/ratio)
	}
	return b
}

func TestMetricCIDErLengthPenaltyUsesBigramCount(t *testing.T) {
	// Two images so that log(#images) > 0; image a's candidate repeats its
	// reference four times. The score is worked out by hand below.
	refs := map[string][]string{"a": {"red bus"}, "b": {"green car"}}
	short, _, err := CIDErD(map[string]string{"a": "red bus", "b": "green car"}, refs)
	if err != nil {
		t.Fatal(err)
	}
	long, _, err := CIDErD(map[string]string{"a": "red bus red bus red bus red bus", "b": "green car"}, refs)
	if err != nil {
		t.Fatal(err)
	}
	// Image a's candidate has 7 bigrams against the reference's 1: δ = 6.
	if !(long < short) {
		t.Errorf("long candidate %g should score below the exact one %g", long, short)
	}
	s, err := NewCaptionSet(map[string]string{"a": "red bus red bus red bus red bus", "b": "green car"}, refs, strings.Fields)
	if err != nil {
		t.Fatal(err)
	}
	_, per := s.CIDErD()
	// Unigrams: cand (4·w, 4·w) vs ref (w, w) with w = log 2: cosine 1, clipped Σ min·ref = 2w², norms 4w·√2 · w·√2 → 2w²/(8w²) = 1/4.
	// Bigrams: "red bus" ×4 and "bus red" ×3 vs "red bus": min(4w, w)·w / (√(16+9)·w · w) = 1/5.
	// 3- and 4-grams do not occur in the reference: 0.
	penalty := math.Exp(-36.0 / 72)
	want := (0.25 + 0.2) * penalty / 4 * 10
	if math.Abs(per["a"]-want) > 1e-12 {
		t.Errorf("CIDEr-D[a] = %.15g, want %.15g (penalty on the bigram count)", per["a"], want)
	}
}

func TestMetricErrors(t *testing.T) {
	tests := []struct {
		name  string
		cands map[string]string
		refs  map[string][]string
	}{
		{"no images", map[string]string{}, map[string][]string{}},
		{"candidate without references", map[string]string{"a": "x"}, map[string][]string{"a": nil}},
		{"references without candidate", map[string]string{"a": "x"}, map[string][]string{"a": {"x"}, "b": {"y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCaptionSet(tt.cands, tt.refs, nil); err == nil {
				t.Error("NewCaptionSet: no error")
			}
			if _, _, err := CIDErD(tt.cands, tt.refs); err == nil {
				t.Error("CIDErD: no error")
			}
			if _, _, err := BLEU(tt.cands, tt.refs, 4); err == nil {
				t.Error("BLEU: no error")
			}
		})
	}
	if _, _, err := BLEU(map[string]string{"a": "x"}, map[string][]string{"a": {"x"}}, 0); err == nil {
		t.Error("BLEU-0: no error")
	}
}

func TestMetricTokenizeCaption(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A man's dog (brown) isn't \"happy\" -- really...", "a man 's dog -lrb- brown -rrb- is n't happy really"},
		{"Two dogs, playing in the park.", "two dogs playing in the park"},
		{"etc.", "etc."},
		{"the U.S. flag", "the u.s. flag"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(TokenizeCaption(tt.in), " "); got != tt.want {
			t.Errorf("TokenizeCaption(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
