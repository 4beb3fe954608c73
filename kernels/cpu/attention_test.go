package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMaskAllows(t *testing.T) {
	for _, tc := range []struct {
		mask Mask
		q, k int
		want bool
	}{
		{Mask{Kind: Causal}, 3, 3, true},
		{Mask{Kind: Causal}, 3, 4, false},
		{Mask{Kind: Causal}, 0, 0, true},
		{Mask{Kind: Bidirectional}, 0, 100, true},
		{Mask{Kind: BlockCausal, Block: 4}, 4, 7, true},
		{Mask{Kind: BlockCausal, Block: 4}, 7, 4, true},
		{Mask{Kind: BlockCausal, Block: 4}, 3, 4, false},
		{Mask{Kind: BlockCausal, Block: 4}, 8, 3, true},
		{Mask{Kind: BlockCausal, Block: 1}, 5, 6, false},
	} {
		if got := tc.mask.Allows(tc.q, tc.k); got != tc.want {
			t.Errorf("%v.Allows(%d, %d) = %v, want %v", tc.mask, tc.q, tc.k, got, tc.want)
		}
	}
	// keyLimit must describe exactly the allowed prefix.
	for _, m := range []Mask{{Kind: Causal}, {Kind: Bidirectional}, {Kind: BlockCausal, Block: 1}, {Kind: BlockCausal, Block: 3}, {Kind: BlockCausal, Block: 8}} {
		for q := range 40 {
			lim := m.keyLimit(q)
			for k := range 60 {
				if m.Allows(q, k) != (k < lim) {
					t.Fatalf("%v: keyLimit(%d) = %d disagrees with Allows at k=%d", m, q, lim, k)
				}
			}
		}
	}
	for m, want := range map[Mask]string{{Kind: Causal}: "causal", {Kind: Bidirectional}: "bidirectional", {Kind: BlockCausal, Block: 4}: "block-causal(4)", {Kind: 9}: "MaskKind(9)"} {
		if got := m.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

// refAttention is the naive float64 definition of Attention.
func refAttention(q, k, v []float32, nq, qPos0, nk, nHeads, nKV, d int, mask Mask) []float64 {
	out := make([]float64, nq*nHeads*d)
	group := nHeads / nKV
	for i := range nq {
		for h := range nHeads {
			kh := h / group
			var ws []float64
			var js []int
			mx := math.Inf(-1)
			for j := range nk {
				if !mask.Allows(qPos0+i, j) {
					continue
				}
				var s float64
				for x := range d {
					s += float64(q[(i*nHeads+h)*d+x]) * float64(k[(j*nKV+kh)*d+x])
				}
				s /= math.Sqrt(float64(d))
				ws, js = append(ws, s), append(js, j)
				mx = math.Max(mx, s)
			}
			var sum float64
			for a := range ws {
				ws[a] = math.Exp(ws[a] - mx)
				sum += ws[a]
			}
			for a, j := range js {
				for x := range d {
					out[(i*nHeads+h)*d+x] += ws[a] / sum * float64(v[(j*nKV+kh)*d+x])
				}
			}
		}
	}
	return out
}

func TestAttention(t *testing.T) {
	masks := []Mask{{Kind: Causal}, {Kind: Bidirectional}, {Kind: BlockCausal, Block: 4}, {Kind: BlockCausal, Block: 3}}
	type shape struct{ nq, qPos0, nk, nHeads, nKV, d int }
	shapes := []shape{
		{1, 0, 1, 1, 1, 8},      // single token
		{4, 0, 4, 2, 2, 16},     // prefill, MHA
		{4, 8, 12, 4, 2, 16},    // cache (8) + block (4), GQA 2
		{4, 12, 16, 6, 2, 64},   // GQA 3
		{4, 12, 16, 8, 1, 32},   // MQA
		{3, 5, 8, 4, 4, 7},      // odd headDim, block not aligned to mask block
		{8, 16, 24, 16, 8, 128}, // Qwen3-like head size
		{5, 2, 4, 2, 1, 8},      // queries past the last key: keys >= nk never attended
		{2, 0, 0, 2, 1, 16},     // no keys: zeros
		{9, 200, 209, 8, 2, 80}, // 36 rows per kv head (3 row blocks), headDim 80 = 64+16
		{3, 1, 2, 4, 2, 32},     // fewer keys than a 4-key tile
	}
	for _, p := range available() {
		for _, m := range masks {
			for _, s := range shapes {
				t.Run(fmt.Sprintf("%s/%v/nq%d_q0%d_nk%d_h%d_kv%d_d%d", p.name, m, s.nq, s.qPos0, s.nk, s.nHeads, s.nKV, s.d), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(s.nq*131+s.nk), uint64(s.d)))
					q := randF32(rng, s.nq*s.nHeads*s.d, 2)
					k := randF32(rng, s.nk*s.nKV*s.d, 2)
					v := randF32(rng, s.nk*s.nKV*s.d, 1)
					out := randF32(rng, s.nq*s.nHeads*s.d, 1) // garbage: must be overwritten
					p.attention(out, q, k, v, s.nq, s.qPos0, s.nk, s.nHeads, s.nKV, s.d, m)
					want := refAttention(q, k, v, s.nq, s.qPos0, s.nk, s.nHeads, s.nKV, s.d, m)
					for i, w := range want {
						if e := math.Abs(float64(out[i]) - w); e > 2e-6 {
							t.Fatalf("out[%d] = %v, want %v (abs err %.3g > 2e-6)", i, out[i], w, e)
						}
					}
				})
			}
		}
	}
}

// TestAttentionHeadDims runs the head sizes of the supported models (32,
// 40, 64, 80, 128: 40 and 80 are not multiples of 16, 40 not of 32), blocks
// of 1..40 queries at the end of up to 600 keys, GQA groups 1..4 and every
// mask on every path: against the float64 reference (abs error 2e-6) and
// against the generic path (4e-6).
func TestAttentionHeadDims(t *testing.T) {
	masks := []Mask{{Kind: Causal}, {Kind: Bidirectional}, {Kind: BlockCausal, Block: 4}, {Kind: BlockCausal, Block: 3}}
	type shape struct{ nq, nk, nHeads, nKV int }
	shapes := []shape{
		{1, 1, 4, 2},    // first token
		{1, 600, 4, 2},  // one query, long cache: 3 key chunks
		{4, 400, 4, 2},  // demo-text block decode: 8 rows per kv head
		{5, 257, 8, 2},  // group 4: 20 rows, 2 row blocks, a 1-key chunk
		{17, 300, 2, 2}, // MHA, 17 rows: a 1-row tile
		{33, 290, 2, 2}, // 33 rows
		{40, 40, 4, 2},  // prefill: 80 rows per kv head
		{40, 333, 3, 1}, // MQA group 3: 120 rows
		{2, 9, 4, 1},    // group 4, short
		{3, 513, 16, 8}, // SDAR-like heads
	}
	for _, d := range []int{32, 40, 64, 80, 128} {
		for si, s := range shapes {
			rng := rand.New(rand.NewPCG(uint64(s.nq*1009+s.nk), uint64(d*7+s.nHeads)))
			q := randF32(rng, s.nq*s.nHeads*d, 2)
			k := randF32(rng, s.nk*s.nKV*d, 2)
			v := randF32(rng, s.nk*s.nKV*d, 1)
			// Two masks per shape, every mask at every head size.
			for _, m := range []Mask{masks[si%4], masks[(si+1)%4]} {
				qPos0 := s.nk - s.nq
				want := refAttention(q, k, v, s.nq, qPos0, s.nk, s.nHeads, s.nKV, d, m)
				gen := make([]float32, len(want))
				for _, p := range available() {
					t.Run(fmt.Sprintf("d%d/%s/%v/nq%d_nk%d_h%d_kv%d", d, p.name, m, s.nq, s.nk, s.nHeads, s.nKV), func(t *testing.T) {
						out := randF32(rng, len(want), 1) // garbage: must be overwritten
						p.attention(out, q, k, v, s.nq, qPos0, s.nk, s.nHeads, s.nKV, d, m)
						if p == &generic {
							copy(gen, out)
						}
						for i, w := range want {
							if e := math.Abs(float64(out[i]) - w); e > 2e-6 || math.Abs(float64(out[i]-gen[i])) > 4e-6 {
								t.Fatalf("out[%d] = %v, want %v (generic %v)", i, out[i], w, gen[i])
							}
						}
					})
				}
			}
		}
	}
}

func TestAttentionPanicsOnBadMask(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for BlockCausal with Block 0")
		}
	}()
	x := make([]float32, 16)
	Attention(x, x, x, x, 1, 0, 1, 1, 1, 16, Mask{Kind: BlockCausal})
}
