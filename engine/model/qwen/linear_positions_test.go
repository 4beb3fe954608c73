package qwen

import (
	"slices"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// A 1-D RoPE model takes Linear positions (equal axes; a pruned prompt's
// rows at their original positions): consecutive ids from 0 are the plain
// forward bit for bit, a constant shift leaves the logits (RoPE scores
// depend on position differences only) within float tolerance, and a gap
// changes them, so the ids are what rotates the rows.
func TestLinearPositionsOn1DModel(t *testing.T) {
	m, err := Random(tinyConfig("sdar"), 5, tensor.F32, false)
	if err != nil {
		t.Fatal(err)
	}
	V := m.cfg.VocabSize
	toks := randTokens(3, 10, V)
	mask := cpu.Mask{Kind: cpu.BlockCausal, Block: 4}
	want := full(t, m, toks, mask)
	run := func(ids []int) []float32 {
		rope, err := model.NewPositions([3][]int{ids, ids, ids})
		if err != nil {
			t.Fatal(err)
		}
		s := model.Seq{Tokens: toks, Mask: mask, LogitRows: allRows(len(toks)), Logits: make([]float32, len(toks)*V), Rope: rope}
		if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
			t.Fatal(err)
		}
		return s.Logits
	}
	seq := func(from int) []int {
		ids := make([]int, len(toks))
		for i := range ids {
			ids[i] = from + i
		}
		return ids
	}
	if got := run(seq(0)); !slices.Equal(got, want) {
		t.Errorf("ids 0..n-1: logits differ from the plain forward by %g", maxAbsDiff(got, want))
	}
	if d := maxAbsDiff(run(seq(7)), want); d > 1e-4 {
		t.Errorf("ids shifted by 7: logits differ by %g, want <= 1e-4", d)
	}
	gap := seq(0)
	for i := 3; i < len(gap); i++ {
		gap[i] += 20 // rows 3.. after 20 dropped positions
	}
	if d := maxAbsDiff(run(gap), want); d < 1e-3 {
		t.Errorf("a gap of 20 positions changes nothing (%g)", d)
	}
}
