package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// splitTol is the tolerance of merged split attention against full
// attention: |got - want| <= splitTol·(1 + |want|) (1e-5 relative).
const splitTol = 1e-5

// TestAttentionSplitMerge: attention over keys [0, nk) equals the merge
// (MergeAttention) of the partial attentions over [0, s) and [s, nk)
// (AttentionSeq.K0, LSE), to splitTol, on every inner-loop path, for GQA
// ratios, head dims, flat and paged (fp32, bf16) keys, masks, query
// positions and split points; and the merged LSE equals the full one.
func TestAttentionSplitMerge(t *testing.T) {
	type shape struct{ nHeads, nKV, d int }
	shapes := []shape{{4, 2, 32}, {4, 4, 32}, {8, 1, 64}, {14, 2, 64}, {2, 1, 20}, {4, 1, 128}, {2, 2, 4}}
	type layout struct {
		name     string
		paged    bool
		bf16     bool
		pageRows int
	}
	layouts := []layout{{"flat", false, false, 0}, {"paged-f32", true, false, 16}, {"paged-bf16", true, true, 16}, {"paged-bf16-p5", true, true, 5}}
	type geom struct {
		nq, qPos0, nk, split int
		mask                 Mask
	}
	bc := func(b int) Mask { return Mask{Kind: BlockCausal, Block: b} }
	geoms := []geom{
		{4, 64, 68, 64, bc(4)},    // a block after a 64-key prefix
		{4, 0, 4, 0, bc(4)},       // no prefix
		{8, 40, 48, 40, bc(8)},    // block 8
		{32, 96, 128, 96, bc(32)}, // block 32: several row units
		{4, 20, 24, 20, Mask{Kind: Bidirectional}},
		{6, 30, 36, 30, Mask{Kind: Causal}},
		{4, 64, 68, 17, bc(4)},               // split inside the prefix
		{4, 64, 68, 68, bc(4)},               // empty second part
		{12, 60, 72, 64, bc(4)},              // rows of an earlier block too (pend ++ canvas)
		{3, 5, 300, 200, Mask{Kind: Causal}}, // queries see no key past the split
	}
	for _, ops := range attnOpsList() {
		for _, sh := range shapes {
			if ops == &avx2AttnOps && sh.d < 8 {
				continue // batchAttnOps never picks avx2 there
			}
			for _, ly := range layouts {
				for gi, g := range geoms {
					name := fmt.Sprintf("%s/h%d_kv%d_d%d/%s/g%d", ops.name, sh.nHeads, sh.nKV, sh.d, ly.name, gi)
					t.Run(name, func(t *testing.T) {
						rng := rand.New(rand.NewPCG(uint64(gi*31+sh.d), uint64(sh.nHeads*7+sh.nKV)))
						qd, kvd := sh.nHeads*sh.d, sh.nKV*sh.d
						q := randF32(rng, g.nq*qd, 2)
						k, v := randF32(rng, g.nk*kvd, 2), randF32(rng, g.nk*kvd, 1)
						base := AttentionSeq{Q: q, K: k, V: v, NQ: g.nq, QPos0: g.qPos0, NK: g.nk, Mask: g.mask}
						if ly.paged {
							base.K, base.V = nil, nil
							base.KP = pagesOf(k, g.nk, sh.nKV, sh.d, ly.pageRows, ly.bf16)
							base.VP = pagesOf(v, g.nk, sh.nKV, sh.d, ly.pageRows, ly.bf16)
						}
						full, fullL := base, make([]float32, g.nq*sh.nHeads)
						full.Out, full.LSE = make([]float32, g.nq*qd), fullL
						plain := base
						plain.Out = make([]float32, g.nq*qd)
						a, b := base, base
						a.NK, a.Out, a.LSE = g.split, make([]float32, g.nq*qd), make([]float32, g.nq*sh.nHeads)
						b.K0, b.Out, b.LSE = g.split, make([]float32, g.nq*qd), make([]float32, g.nq*sh.nHeads)
						attentionUnits(ops, []AttentionSeq{plain, full, a, b}, sh.nHeads, sh.nKV, sh.d)
						merged, mergedL := make([]float32, g.nq*qd), make([]float32, g.nq*sh.nHeads)
						MergeAttention(merged, a.Out, a.LSE, b.Out, b.LSE, mergedL, g.nq, sh.nHeads, sh.d)
						for i, want := range plain.Out {
							if got := merged[i]; math.Abs(float64(got-want)) > splitTol*(1+math.Abs(float64(want))) {
								t.Fatalf("out[%d] = %v merged, %v full", i, got, want)
							}
							if got := full.Out[i]; math.Abs(float64(got-want)) > splitTol*(1+math.Abs(float64(want))) {
								t.Fatalf("out[%d] = %v with LSE, %v without", i, got, want)
							}
						}
						for i, want := range fullL {
							if got := mergedL[i]; math.Abs(float64(got-want)) > splitTol*(1+math.Abs(float64(want))) {
								t.Fatalf("lse[%d] = %v merged, %v full", i, got, want)
							}
						}
					})
				}
			}
		}
	}
}

// TestMergeAttentionEmpty: a side without keys (-Inf) takes no weight, and
// two empty sides give zeros.
func TestMergeAttentionEmpty(t *testing.T) {
	inf := float32(math.Inf(-1))
	tests := []struct {
		name   string
		l1, l2 float32
		want   []float32
	}{
		{"first empty", inf, 3, []float32{5, 6}},
		{"second empty", 3, inf, []float32{1, 2}},
		{"both empty", inf, inf, []float32{0, 0}},
		{"equal", 0.5, 0.5, []float32{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]float32, 2)
			MergeAttention(out, []float32{1, 2}, []float32{tt.l1}, []float32{5, 6}, []float32{tt.l2}, nil, 1, 1, 2)
			for i := range out {
				if out[i] != tt.want[i] {
					t.Fatalf("out = %v, want %v", out, tt.want)
				}
			}
		})
	}
}
