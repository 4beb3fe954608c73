package decode

import (
	"slices"
	"testing"
)

// The bar decays from Start to Tau and the weight grows to WMax; the commit
// rule is the threshold at the bar (hand-made confidences).
func TestIterSmoothSchedule(t *testing.T) {
	p := DefaultIterSmooth(0.9)
	conf := []float32{0.95, 0.99, 0.5, 0.97}
	tests := []struct {
		step int
		bar  float32
		w    float32
		want []int
	}{
		{0, 1, 0.15, []int{1}},          // nothing reaches 1.0: the argmax alone
		{2, 0.96, 0.19, []int{1, 3}},    // .99 .97 >= .96
		{4, 0.92, 0.23, []int{0, 1, 3}}, // .95 too
		{9, 0.9, 0.3, []int{0, 1, 3}},   // the floors: bar 0.9, weight 0.3
	}
	for _, tt := range tests {
		if got := p.Bar(tt.step); abs32(got-tt.bar) > 1e-6 {
			t.Errorf("Bar(%d) = %v, want %v", tt.step, got, tt.bar)
		}
		if got := p.Weight(tt.step); abs32(got-tt.w) > 1e-6 {
			t.Errorf("Weight(%d) = %v, want %v", tt.step, got, tt.w)
		}
		c := cands(conf)
		c.Step = tt.step
		if got := sortInts(p.Select(c)); !slices.Equal(got, tt.want) {
			t.Errorf("step %d: Select = %v, want %v", tt.step, got, tt.want)
		}
	}
}

// table is a hand-made embedding table [vocab, hidden].
type table [][]float32

func (e table) EmbedRow(tok int32, dst []float32) { copy(dst, e[tok]) }
func (e table) HiddenSize() int                   { return len(e[0]) }

// softInput is E[mask] + w·softmax(logits/T)·E, tokens under softTail left out.
func TestSoftInput(t *testing.T) {
	E := table{{1, 0}, {0, 1}, {2, 2}, {10, 10}} // token 3 is the mask
	ln3 := float32(1.0986123)                    // logits 0, ln 3: p = 1/4, 3/4
	tests := []struct {
		name   string
		logits []float32
		w, T   float32
		want   []float32
	}{
		{"weight zero is the mask", []float32{0, ln3, -30, -30}, 0, 1, []float32{10, 10}},
		{"two tokens", []float32{0, ln3, -40, -40}, 0.2, 1, []float32{10 + 0.2*0.25, 10 + 0.2*0.75}},
		{"temperature 2 flattens", []float32{0, 2 * ln3, -80, -80}, 0.2, 2, []float32{10 + 0.2*0.25, 10 + 0.2*0.75}},
		{"one-hot", []float32{-50, -50, 0, -50}, 0.3, 1, []float32{10.6, 10.6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, row := make([]float32, 2), make([]float32, 2)
			softInput(E, 3, tt.logits, tt.w, tt.T, dst, row)
			for i := range dst {
				if abs32(dst[i]-tt.want[i]) > 1e-5 {
					t.Fatalf("soft input %v, want %v", dst, tt.want)
				}
			}
		})
	}
}

// The decoder feeds soft inputs at the positions still masked after a step,
// at their absolute positions, and none at committed ones or after the block
// changed; without an Embedder it refuses.
func TestIterSmoothInputs(t *testing.T) {
	const V, B, mask = 5, 4, 4
	E := table{{1, 0}, {0, 1}, {2, 0}, {0, 2}, {5, 5}}
	a := Arch{Block: B, MaskID: mask, Vocab: V}
	if _, err := NewBlock(a, []int32{0, 1, 2, 3, 0, 1}, Params{MaxNew: 8, Policy: DefaultIterSmooth(0.9)}); err == nil {
		t.Fatal("no Embedder: want an error")
	}
	s, err := NewBlock(a, []int32{0, 1, 2, 3, 0, 1}, Params{MaxNew: 8, Policy: DefaultIterSmooth(0.9), Embedder: E})
	if err != nil {
		t.Fatal(err)
	}
	// The prompt's tail [0 1] at 4, 5 and masks at 6, 7 (block 4..7).
	w, _ := s.Next()
	if len(w.Embeds) != 0 {
		t.Fatalf("first step: %d soft inputs, want none", len(w.Embeds))
	}
	if w.Summary {
		t.Fatal("iteration smoothing needs the rows' distributions, not summaries")
	}
	// Row 0 (position 6): token 2 certain; row 1 (position 7): 0 or 1.
	logits := []float32{-30, -30, 10, -30, 0, 0, 0, -30, -30, 0}
	s.Apply(logits)
	w, _ = s.Next()
	if len(w.Embeds) != 1 || w.Embeds[0].Pos != 7 {
		t.Fatalf("second step: soft inputs %+v, want one at position 7", w.Embeds)
	}
	if got := w.Embeds[0].Rows; abs32(got[0]-(5+0.15*0.5)) > 1e-5 || abs32(got[1]-(5+0.15*0.5)) > 1e-5 {
		t.Fatalf("soft input %v", got)
	}
	// Position 7 commits: the block is done and the next one starts bare.
	s.Apply([]float32{10, -30, -30, -30, -30})
	w, _ = s.Next()
	if len(w.Embeds) != 0 {
		t.Fatalf("new block: soft inputs %+v, want none", w.Embeds)
	}
}

func abs32(x float32) float32 { return max(x, -x) }
