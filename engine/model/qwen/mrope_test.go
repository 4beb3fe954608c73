package qwen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// mropeConfig is tinyConfig with Qwen2.5-VL's multimodal rotary sections
// (head_dim 16: 8 frequency pairs split 2 / 3 / 3).
func mropeConfig(modelType string) *model.Config {
	c := tinyConfig(modelType)
	c.MRopeSection = []int{2, 3, 3}
	return c
}

// imagePositions are M-RoPE ids of a prompt of n rows whose rows
// [start, start+lh·lw) are an lh×lw image (get_rope_index's layout).
func imagePositions(n, start, lh, lw int) *model.Positions {
	var ids [3][]int
	for p := range start {
		for a := range ids {
			ids[a] = append(ids[a], p)
		}
	}
	for y := range lh {
		for x := range lw {
			ids[0], ids[1], ids[2] = append(ids[0], start), append(ids[1], start+y), append(ids[2], start+x)
		}
	}
	for p := 0; len(ids[0]) < n; p++ {
		for a := range ids {
			ids[a] = append(ids[a], start+max(lh, lw)+p)
		}
	}
	pos, err := model.NewPositions(ids)
	if err != nil {
		panic(err)
	}
	return pos
}

// The section blend is transformers' apply_multimodal_rotary_pos_emb:
// frequency pair i rotates by the id of the axis whose section holds i,
// checked against the formula in float64.
func TestMRoPEApply(t *testing.T) {
	const D, heads, rows = 16, 3, 5
	r := &mrope{rope: cpu.NewRoPE(D, 1e6), section: [3]int{2, 3, 3}}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, rows*heads*D)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	pos := [3][]int{{0, 4, 4, 9, 30}, {0, 4, 5, 7, 30}, {0, 4, 6, 8, 12}}
	got := slices.Clone(x)
	r.apply(got, make([]float32, 2*len(x)), rows, heads, D, &pos)
	axis := func(i int) int {
		switch {
		case i < 2:
			return 0
		case i < 5:
			return 1
		}
		return 2
	}
	var worst float64
	for row := range rows {
		for h := range heads {
			v := x[(row*heads+h)*D:]
			g := got[(row*heads+h)*D:]
			for i := range D / 2 {
				inv := 1 / math.Pow(1e6, float64(2*i)/D)
				a := float64(pos[axis(i)][row]) * inv
				c, s := math.Cos(a), math.Sin(a)
				w0 := float64(v[i])*c - float64(v[i+D/2])*s
				w1 := float64(v[i+D/2])*c + float64(v[i])*s
				worst = max(worst, math.Abs(w0-float64(g[i])), math.Abs(w1-float64(g[i+D/2])))
			}
		}
	}
	if worst > 1e-5 {
		t.Errorf("M-RoPE differs from the formula by %g", worst)
	}
	// Equal ids on all axes: 1-D RoPE, bit for bit.
	flat := [3][]int{pos[0], pos[0], pos[0]}
	got = slices.Clone(x)
	r.apply(got, make([]float32, 2*len(x)), rows, heads, D, &flat)
	want := slices.Clone(x)
	r.rope.Apply(want, rows, heads, pos[0])
	if !slices.Equal(got, want) {
		t.Error("M-RoPE with equal ids differs from 1-D RoPE")
	}
}

// On a model with mrope_section, text (no positions, or explicit equal
// ids, the rope delta 0) gives the logits of the same weights with 1-D
// RoPE, bit for bit; image positions change them.
func TestMRoPETextEqualsRoPE(t *testing.T) {
	for _, mt := range []string{"qwen2_5_vl_text", "Fast_dLLM_Qwen"} {
		t.Run(mt, func(t *testing.T) {
			plain, err := Random(tinyConfig(mt), 3, tensor.F32, false)
			if err != nil {
				t.Fatal(err)
			}
			mr, err := Random(mropeConfig(mt), 3, tensor.F32, false)
			if err != nil {
				t.Fatal(err)
			}
			V := plain.cfg.VocabSize
			toks := randTokens(5, 13, V)
			mask := cpu.Mask{Kind: cpu.BlockCausal, Block: 4}
			want := full(t, plain, toks, mask)
			run := func(rope *model.Positions) []float32 {
				s := model.Seq{Tokens: toks, Mask: mask, LogitRows: allRows(len(toks)), Logits: make([]float32, len(toks)*V), Rope: rope}
				if err := mr.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
					t.Fatal(err)
				}
				return s.Logits
			}
			equal := imagePositions(9, 9, 0, 0) // 9 explicit text ids, then p + 0
			if equal.Delta != 0 {
				t.Fatalf("delta %d", equal.Delta)
			}
			for name, rope := range map[string]*model.Positions{"no positions": nil, "equal ids": equal} {
				if got := run(rope); !slices.Equal(got, want) {
					t.Errorf("%s: logits differ from 1-D RoPE by %g", name, maxAbsDiff(got, want))
				}
			}
			if d := maxAbsDiff(run(imagePositions(13, 2, 2, 3)), want); d < 1e-3 {
				t.Errorf("image positions change nothing (%g)", d)
			}
		})
	}
}

// With image positions the committed-block cache stays exact: prefill
// whole blocks, then the rest (past the explicit ids: the rope delta) as
// denoising passes or token by token, against one full forward; and a
// sequence with positions batched with one without is unchanged.
func TestMRoPECache(t *testing.T) {
	m, err := Random(mropeConfig("Fast_dLLM_Qwen"), 9, tensor.F32, false)
	if err != nil {
		t.Fatal(err)
	}
	V := m.cfg.VocabSize
	toks := randTokens(7, 15, V)
	rope := imagePositions(10, 2, 2, 3) // image rows [2, 8) at ids <= 4, text at 5, 6, then p - 3
	if rope.Delta != -3 {
		t.Fatalf("delta %d, want -3", rope.Delta)
	}
	for _, mask := range []cpu.Mask{{Kind: cpu.Causal}, {Kind: cpu.BlockCausal, Block: 4}} {
		t.Run(mask.String(), func(t *testing.T) {
			s := model.Seq{Tokens: toks, Mask: mask, LogitRows: allRows(len(toks)), Logits: make([]float32, len(toks)*V), Rope: rope}
			if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
				t.Fatal(err)
			}
			want := s.Logits
			cache := m.NewPool(0).NewSequence()
			pre := model.Seq{Tokens: toks[:8], Mask: mask, Cache: cache, Store: true, Rope: rope}
			if err := m.Forward(&model.Batch{Seqs: []model.Seq{pre}}); err != nil {
				t.Fatal(err)
			}
			tail := model.Seq{Tokens: toks[8:], Pos: 8, Mask: mask, Cache: cache, Rope: rope, LogitRows: allRows(7), Logits: make([]float32, 7*V)}
			other := randTokens(8, 6, V)
			alone := full(t, m, other, mask)
			side := model.Seq{Tokens: other, Mask: mask, LogitRows: allRows(6), Logits: make([]float32, 6*V)}
			if err := m.Forward(&model.Batch{Seqs: []model.Seq{tail, side}}); err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(tail.Logits, want[8*V:]); d > 1e-4 {
				t.Errorf("tail against the cache differs from the full forward by %g", d)
			}
			if d := maxAbsDiff(side.Logits, alone); d > 1e-4 {
				t.Errorf("a 1-D sequence batched with an M-RoPE one differs by %g", d)
			}
			if mask.Kind != cpu.Causal {
				return
			}
			c2 := m.NewPool(0).NewSequence()
			for i, tok := range toks {
				s := model.Seq{Tokens: []int32{tok}, Pos: i, Mask: mask, Cache: c2, Store: true, Rope: rope, LogitRows: []int{0}, Logits: make([]float32, V)}
				if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(s.Logits, want[i*V:(i+1)*V]); d > 1e-4 {
					t.Fatalf("token-by-token step %d differs by %g", i, d)
				}
			}
		})
	}
}
