package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRoundWidenBF16: the vector bf16 rounding and widening give the bits of
// F32ToBF16 and BF16ToF32 on every length (vector body and tail) and on the
// values rounding is easy to get wrong: ties, subnormals, infinities, NaNs.
func TestRoundWidenBF16(t *testing.T) {
	specials := []uint32{0, 0x80000000, 0x00000001, 0x807fffff, 0x00008000, 0x00018000, 0x3f808000, 0x3f818000,
		0x3f80ffff, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffffffff, 0x7fff8000}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 33, 64, 100} {
		src := make([]float32, n)
		for i := range src {
			if i < len(specials) && n >= 16 {
				src[i] = math.Float32frombits(specials[i])
			} else {
				src[i] = math.Float32frombits(rng.Uint32())
			}
		}
		got, want := make([]uint16, n), make([]uint16, n)
		roundBF16(got, src)
		F32ToBF16(want, src)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("n=%d: roundBF16(%#08x) = %#04x, F32ToBF16 %#04x", n, math.Float32bits(src[i]), got[i], want[i])
			}
		}
		wf, gf := make([]float32, n), make([]float32, n)
		widenBF16(gf, want)
		BF16ToF32(wf, want)
		for i := range wf {
			if math.Float32bits(gf[i]) != math.Float32bits(wf[i]) {
				t.Fatalf("n=%d: widenBF16(%#04x) = %#08x, want %#08x", n, want[i], math.Float32bits(gf[i]), math.Float32bits(wf[i]))
			}
		}
	}
}

// pagesOf stores rows [nk, heads × hd] of x into pages of pageRows rows
// (one more page than needed, so the last rows are scratch), as bf16 or fp32.
func pagesOf(x []float32, nk, heads, hd, pageRows int, bf bool) *PagedKV {
	p := &PagedKV{PageRows: pageRows, Heads: heads, HeadDim: hd}
	width := heads * hd
	for range nk/pageRows + 1 {
		if bf {
			p.BF16 = append(p.BF16, make([]uint16, pageRows*width))
		} else {
			p.F32 = append(p.F32, make([]float32, pageRows*width))
		}
	}
	p.Store(0, x[:nk*width])
	return p
}

// TestPagedKVStoreLoad: rows stored across page boundaries read back
// exactly (fp32) or rounded as F32ToBF16 rounds them (bf16).
func TestPagedKVStoreLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, bf := range []bool{false, true} {
		for _, pr := range []int{1, 3, 16} {
			for _, heads := range []int{1, 3} {
				const width, n = 24, 37
				x := randF32(rng, n*width, 3)
				p := pagesOf(x[:0], 0, heads, width/heads, pr, bf)
				for range n / pr {
					if bf {
						p.BF16 = append(p.BF16, make([]uint16, pr*width))
					} else {
						p.F32 = append(p.F32, make([]float32, pr*width))
					}
				}
				p.Store(0, x[:5*width]) // two writes meeting inside a page
				p.Store(5, x[5*width:])
				got := make([]float32, n*width)
				p.Load(got, 0, n)
				for i, v := range x {
					w := v
					if bf {
						w = math.Float32frombits(uint32(bf16(v)) << 16)
					}
					if math.Float32bits(got[i]) != math.Float32bits(w) {
						t.Fatalf("bf16=%v page rows %d heads %d: value %d = %v, want %v", bf, pr, heads, i, got[i], w)
					}
				}
			}
		}
	}
}

// TestAttentionPaged: on every inner-loop set and head size (the demo
// checkpoints' 32 and 40, and 64, 80, 128), attention over paged keys gives
// the bits of attention over the same keys stored contiguously: fp32 pages
// the keys themselves, bf16 pages the keys rounded to bf16.
func TestAttentionPaged(t *testing.T) {
	defer SetThreads(numThreads())
	type seq struct{ nq, qPos0, nk int }
	seqs := []seq{{4, 8, 12}, {1, 30, 31}, {37, 0, 37}, {8, 100, 108}, {2, 16, 18}}
	masks := []Mask{{Kind: Causal}, {Kind: Bidirectional}, {Kind: BlockCausal, Block: 4}}
	for _, ops := range attnOpsList() {
		for _, d := range []int{32, 40, 64, 80, 128} {
			for _, pr := range []int{1, 5, 16} {
				for _, bf := range []bool{false, true} {
					for _, heads := range []int{1, 2} { // row-major pages, head-major pages
						t.Run(fmt.Sprintf("%s/d%d/page%d/bf16=%v/heads%d", ops.name, d, pr, bf, heads), func(t *testing.T) {
							SetThreads(2)
							const nH, nKV = 8, 2
							rng := rand.New(rand.NewPCG(uint64(d), uint64(pr)))
							var paged, flat []AttentionSeq
							for i, s := range seqs {
								k, v := randF32(rng, s.nk*nKV*d, 2), randF32(rng, s.nk*nKV*d, 1)
								a := AttentionSeq{Q: randF32(rng, s.nq*nH*d, 2), NQ: s.nq, QPos0: s.qPos0, NK: s.nk, Mask: masks[i%len(masks)]}
								a.KP, a.VP = pagesOf(k, s.nk, heads, nKV*d/heads, pr, bf), pagesOf(v, s.nk, heads, nKV*d/heads, pr, bf)
								a.Out = randF32(rng, s.nq*nH*d, 1)
								f := a
								f.KP, f.VP = nil, nil
								f.K, f.V = make([]float32, len(k)), make([]float32, len(v))
								a.KP.Load(f.K, 0, s.nk) // the stored (rounded) values
								a.VP.Load(f.V, 0, s.nk)
								f.Out = make([]float32, len(a.Out))
								paged, flat = append(paged, a), append(flat, f)
							}
							attentionUnits(ops, paged, nH, nKV, d)
							attentionUnits(ops, flat, nH, nKV, d)
							for i := range paged {
								for j, w := range flat[i].Out {
									if g := paged[i].Out[j]; math.Float32bits(g) != math.Float32bits(w) {
										t.Fatalf("seq %d out[%d] = %v paged, %v contiguous", i, j, g, w)
									}
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestAttentionBatchPagedChecks: AttentionBatch refuses pages that cannot
// hold the keys it is told about, naming what is wrong.
func TestAttentionBatchPagedChecks(t *testing.T) {
	const nH, nKV, d = 4, 2, 16
	k := make([]float32, 8*nKV*d)
	good := pagesOf(k, 8, nKV, d, 4, true)
	for _, c := range []struct {
		name   string
		kp, vp *PagedKV
		nk     int
		want   string
	}{
		{"values missing", good, nil, 8, "KP set without VP"},
		{"too few rows", good, good, 13, "holds 12 rows, 13 keys"},
		{"wrong width", pagesOf(k, 8, 1, d, 4, true), good, 8, "want 2 heads of 16"},
		{"short page", &PagedKV{PageRows: 4, Heads: nKV, HeadDim: d, BF16: [][]uint16{make([]uint16, 10)}}, good, 4, "page 0 holds 10 values"},
		{"no storage", &PagedKV{PageRows: 4, Heads: nKV, HeadDim: d}, good, 0, "exactly one of F32 and BF16"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, c.want) {
					t.Fatalf("panic %v, want one naming %q", r, c.want)
				}
			}()
			AttentionBatch([]AttentionSeq{{Out: make([]float32, nH*d), Q: make([]float32, nH*d), KP: c.kp, VP: c.vp, NQ: 1, QPos0: max(c.nk-1, 0), NK: c.nk, Mask: Mask{Kind: Causal}}}, nH, nKV, d)
		})
	}
}
