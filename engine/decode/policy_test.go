package decode

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
)

// cands builds candidates at block offsets 0..n-1 from confidences (and
// optional margins / entropies / logit margins).
func cands(conf []float32, opts ...func(*Candidates)) *Candidates {
	c := &Candidates{Masks0: len(conf)}
	for i, v := range conf {
		c.Pos = append(c.Pos, i)
		c.Choice = append(c.Choice, Choice{Token: int32(100 + i), Conf: v, Margin: v, LogitMargin: v})
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func withEntropy(h ...float32) func(*Candidates) {
	return func(c *Candidates) {
		for i := range h {
			c.Choice[i].Entropy = h[i]
		}
	}
}

func withMargin(m ...float32) func(*Candidates) {
	return func(c *Candidates) {
		for i := range m {
			c.Choice[i].Margin = m[i]
		}
	}
}

// withPos places candidates at the given block offsets.
func withPos(c *Candidates, pos ...int) *Candidates {
	copy(c.Pos, pos)
	return c
}

func step(s, masks0 int) func(*Candidates) {
	return func(c *Candidates) { c.Step, c.Masks0 = s, masks0 }
}

func TestPolicies(t *testing.T) {
	conf := []float32{0.5, 0.95, 0.2, 0.91, 0.89}
	tests := []struct {
		name string
		p    Policy
		c    *Candidates
		want []int // committed candidate indices, in position order
	}{
		{"static 1/step", StaticTopK{Steps: 5}, cands(conf), []int{1}},
		{"static 2/step first step of 5 masks over 2 steps: 3", StaticTopK{Steps: 2}, cands(conf), []int{1, 3, 4}},
		{"static second step gets 2", StaticTopK{Steps: 2}, cands(conf, step(1, 5)), []int{1, 3}},
		{"static ties keep lower position", StaticTopK{Steps: 4}, cands([]float32{0.3, 0.7, 0.7, 0.1}), []int{1}},
		{"static whole block", StaticTopK{Steps: 1}, cands(conf), []int{0, 1, 2, 3, 4}},
		{"threshold v1 >= tau", Threshold{Tau: 0.91}, cands(conf), []int{1, 3}},
		{"threshold v1 stops at first miss", Threshold{Tau: 0.9}, cands(conf), []int{1, 3}},
		{"threshold always commits the best", Threshold{Tau: 0.99}, cands(conf), []int{1}},
		{"threshold v2 strict >", Threshold{Tau: 0.91, Strict: true}, cands(conf), []int{1}},
		{"threshold v2 union argmax", Threshold{Tau: 0.3, Strict: true}, cands(conf), []int{0, 1, 3, 4}},
		// sorted: .95 .91 .89 .5 .2; bounds 1-1/(i+1): i=2 .667, i=3 .75, i=4 .8 → .91 ok, .89 ok, .5 fails
		{"factor 1.0", Factor{F: 1}, cands(conf), []int{1, 3, 4}},
		{"factor 0.1", Factor{F: 0.1}, cands(conf), []int{1}}, // i=2 bound 1-0.1/3 = .967 > .91
		{"dynamic: 3 above 0.85 >= k=1", Dynamic{Tau: 0.85, Steps: 5}, cands(conf), []int{1, 3, 4}},
		{"dynamic: too few above, top-k", Dynamic{Tau: 0.92, Steps: 2}, cands(conf), []int{1, 3, 4}},
		{"dynamic: none above, top-1", Dynamic{Tau: 0.99, Steps: 5}, cands(conf), []int{1}},
		// entropies sorted: .05(3) .1(1) .2(0) 1(4) 2(2); cumsum .05 .15 .35 1.35 → < .35: 2
		{"entropy bounded 0.35", EntropyBounded{Gamma: 0.35}, cands(conf, withEntropy(0.2, 0.1, 2, 0.05, 1)), []int{1, 3}},
		{"entropy bounded at least one", EntropyBounded{Gamma: 0.01}, cands(conf, withEntropy(0.2, 0.1, 2, 0.05, 1)), []int{3}},
		{"entropy bounded all", EntropyBounded{Gamma: 100}, cands(conf, withEntropy(0.2, 0.1, 2, 0.05, 1)), []int{0, 1, 2, 3, 4}},
		{"top-k margin", TopKMargin{Steps: 5}, cands(conf, withMargin(0.1, 0.2, 0.9, 0.3, 0.4)), []int{2}},
		{"oracle 3", Oracle{K: 3}, cands(conf), []int{0, 1, 2}},
		{"oracle clamps", Oracle{K: 9}, cands(conf), []int{0, 1, 2, 3, 4}},
		{"sequential", Sequential{}, cands(conf), []int{0}},
		// conf 0.5 0.95 0.2 0.91 0.89: anchors at 1 and 3 (>= 0.9).
		{"localleap neighbours at the relaxed bar", LocalLeap{High: 0.9, Low: 0.45, Radius: 1}, cands(conf), []int{0, 1, 3, 4}},
		{"localleap radius 2 reaches further", LocalLeap{High: 0.9, Low: 0.15, Radius: 2}, cands(conf), []int{0, 1, 2, 3, 4}},
		{"localleap far positions need the high bar", LocalLeap{High: 0.94, Low: 0.1, Radius: 1}, cands(conf), []int{0, 1, 2}},
		{"localleap no anchor: top-1", LocalLeap{High: 0.99, Low: 0.1, Radius: 3}, cands(conf), []int{1}},
		{"localleap only anchors", LocalLeap{High: 0.9, Low: 0.96, Radius: 1}, cands(conf), []int{1, 3}},
		{"localleap gaps in positions", LocalLeap{High: 0.9, Low: 0.4, Radius: 1}, withPos(cands([]float32{0.95, 0.5, 0.5}), 0, 2, 3), []int{0}},
		// conf 0.5 0.95 0.2 0.91 0.89 as one run: its best (.95) is the argmax; above .9: 1, 3.
		{"hierarchy one run", Hierarchy{High: 0.9, Low: 0.4}, cands(conf), []int{1, 3}},
		// offsets 0 | 2 3 | 5 6: runs {.5}, {.3 .2}, {.45 .6}; the argmax .6 ends the last run, .5 > .4 leads the first, .3 does not.
		{"hierarchy one per run above low", Hierarchy{High: 0.9, Low: 0.4}, withPos(cands([]float32{0.5, 0.3, 0.2, 0.45, 0.6}), 0, 2, 3, 5, 6), []int{0, 4}},
		{"hierarchy run best at low is not taken", Hierarchy{High: 0.9, Low: 0.5}, withPos(cands([]float32{0.5, 0.3, 0.2, 0.45, 0.6}), 0, 2, 3, 5, 6), []int{4}},
		{"hierarchy runs and high", Hierarchy{High: 0.9, Low: 0.4}, withPos(cands([]float32{0.45, 0.95, 0.92, 0.3, 0.35}), 0, 2, 3, 5, 6), []int{0, 1, 2}},
		{"hierarchy nothing above: the argmax", Hierarchy{High: 0.9, Low: 0.8}, withPos(cands([]float32{0.5, 0.3, 0.7}), 0, 2, 4), []int{2}},
		// mean logit margin .69; progress 0 → tau 2: inner decides
		{"sched below schedule", SchED{Inner: Sequential{}, High: 2, Low: 0.5}, cands(conf), []int{0}},
		// progress 3/5 decoded? Masks0 10, 5 left: progress .5 → tau .6 <= .69 → exit
		{"sched exits", SchED{Inner: Sequential{}, High: 0.7, Low: 0.5}, cands(conf, step(3, 10)), []int{0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sortInts(tt.p.Select(tt.c))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Select = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNumTransfer(t *testing.T) {
	for _, tt := range []struct{ masks, steps, want0, want1, wantLast int }{
		{4, 4, 1, 1, 1}, {5, 2, 3, 2, 2}, {4, 1, 4, 4, 4}, {3, 4, 1, 1, 0},
	} {
		got := []int{NumTransfer(tt.masks, tt.steps, 0), NumTransfer(tt.masks, tt.steps, 1), NumTransfer(tt.masks, tt.steps, tt.steps-1)}
		want := []int{tt.want0, tt.want1, tt.wantLast}
		if tt.steps == 1 {
			want[1] = tt.masks / tt.steps
		}
		if !slices.Equal(got, want) {
			t.Errorf("NumTransfer(%d masks, %d steps) = %v, want %v", tt.masks, tt.steps, got, want)
		}
	}
}

// Credit fusion: a position that keeps predicting the same token gains
// enough credit to cross the threshold that its raw confidence misses.
func TestCreditAccumulates(t *testing.T) {
	p := DefaultCredit().Fresh().(*Credit)
	logits := func() []float32 { return []float32{2.5, 0, 0, 0} } // p(top) ≈ 0.80 < 0.9
	var conf float32
	for stepN := range 4 {
		p.BeginStep()
		l := logits()
		p.Adjust(0, l)
		conf = NewSampler(Sampling{}).Pick(l).Conf
		if stepN == 0 && conf >= 0.9 {
			t.Fatalf("first step already confident (%v)", conf)
		}
	}
	if conf < 0.9 {
		t.Fatalf("after 4 steps fused confidence %v, want >= 0.9", conf)
	}
	p.ResetBlock()
	p.BeginStep()
	l := logits()
	p.Adjust(0, l)
	if c := NewSampler(Sampling{}).Pick(l).Conf; c >= 0.9 {
		t.Fatalf("credit survived ResetBlock: conf %v", c)
	}
}

func TestSamplerGreedyStats(t *testing.T) {
	s := NewSampler(Sampling{})
	c := s.Pick([]float32{1, 3, 3, 0})
	if c.Token != 1 {
		t.Fatalf("greedy tie: token %d, want first max 1", c.Token)
	}
	// p = e^z/Z with Z = e^-2 + 1 + 1 + e^-3
	z := 0.1353352832 + 2 + 0.0497870684
	if d := float64(c.Conf) - 1/z; d > 1e-6 || d < -1e-6 {
		t.Errorf("conf %v, want %v", c.Conf, 1/z)
	}
	if c.Margin > 1e-7 || c.LogitMargin != 0 {
		t.Errorf("tie margin %v / %v, want 0", c.Margin, c.LogitMargin)
	}
}

// TestSamplerEntropyMasked: a -Inf entry (the mask token, as the decoders
// set it) adds nothing to the entropy; it must not turn it into NaN.
func TestSamplerEntropyMasked(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, c := range []struct {
		name   string
		logits []float32
		want   float64 // entropy of softmax over the finite entries
	}{
		{"one masked", []float32{1, inf, 1}, math.Ln2},
		{"masked first", []float32{inf, 0, 0, 0, 0}, math.Log(4)},
		{"only one finite", []float32{inf, 2, inf}, 0},
	} {
		got := NewSampler(Sampling{}).Pick(c.logits).Entropy
		if math.IsNaN(float64(got)) || math.Abs(float64(got)-c.want) > 1e-6 {
			t.Errorf("%s: entropy %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSamplerSeeded(t *testing.T) {
	logits := []float32{1, 1.5, 0.5, 1.2, 0.1, 0.9}
	draw := func(seed uint64, sp Sampling) []int32 {
		sp.Seed = seed
		s := NewSampler(sp)
		var out []int32
		for range 50 {
			out = append(out, s.Pick(logits).Token)
		}
		return out
	}
	for _, sp := range []Sampling{{Temperature: 1}, {Temperature: 0.7, TopK: 2}, {Temperature: 1, TopP: 0.5}} {
		t.Run(fmt.Sprintf("%+v", sp), func(t *testing.T) {
			a, b := draw(7, sp), draw(7, sp)
			if !slices.Equal(a, b) {
				t.Fatal("same seed gave different draws")
			}
			allowed := map[int32]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true}
			if sp.TopK == 2 {
				allowed = map[int32]bool{1: true, 3: true}
			}
			if sp.TopP == 0.5 { // p ∝ e^l: token 1 (.27) + token 3 (.20) + token 0 (.16) reach .5
				allowed = map[int32]bool{1: true, 3: true, 0: true}
			}
			seen := map[int32]bool{}
			for _, tok := range a {
				if !allowed[tok] {
					t.Fatalf("drew token %d outside the allowed set", tok)
				}
				seen[tok] = true
			}
			if len(seen) < 2 {
				t.Errorf("50 draws gave only %v", seen)
			}
			if slices.Equal(a, draw(8, sp)) {
				t.Error("different seeds gave identical draws")
			}
		})
	}
}

// sortInts is sort.Ints on a copy.
func sortInts(x []int) []int {
	y := append([]int(nil), x...)
	sort.Ints(y)
	return y
}
