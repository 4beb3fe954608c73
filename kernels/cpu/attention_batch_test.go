package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttentionBatch: on every path and head size, AttentionBatch over
// sequences of different lengths, positions and masks gives the bits of one
// Attention call per sequence, whatever the thread count.
func TestAttentionBatch(t *testing.T) {
	defer SetThreads(numThreads())
	type seq struct{ nq, qPos0, nk int }
	seqs := []seq{{4, 8, 12}, {1, 30, 31}, {37, 0, 37}, {0, 5, 5}, {8, 100, 108}, {4, 0, 0}, {2, 16, 18}}
	masks := []Mask{{Kind: Causal}, {Kind: Bidirectional}, {Kind: BlockCausal, Block: 4}}
	for _, p := range available() {
		for _, d := range []int{7, 8, 32, 40, 64, 80, 128} {
			for _, heads := range [][2]int{{4, 2}, {8, 1}, {6, 6}} {
				for _, th := range []int{1, 2, 5} {
					t.Run(fmt.Sprintf("%s/d%d/h%d_kv%d/t%d", p.name, d, heads[0], heads[1], th), func(t *testing.T) {
						SetThreads(th)
						nH, nKV := heads[0], heads[1]
						rng := rand.New(rand.NewPCG(uint64(d), uint64(nH*10+th)))
						var batch []AttentionSeq
						var want [][]float32
						for i, s := range seqs {
							a := AttentionSeq{
								Q:  randF32(rng, s.nq*nH*d, 2),
								K:  randF32(rng, s.nk*nKV*d, 2),
								V:  randF32(rng, s.nk*nKV*d, 1),
								NQ: s.nq, QPos0: s.qPos0, NK: s.nk, Mask: masks[i%len(masks)],
							}
							a.Out = randF32(rng, s.nq*nH*d, 1) // garbage: must be overwritten
							w := make([]float32, len(a.Out))
							p.attention(w, a.Q, a.K, a.V, a.NQ, a.QPos0, a.NK, nH, nKV, d, a.Mask)
							batch = append(batch, a)
							want = append(want, w)
						}
						attentionBatch(p, batch, nH, nKV, d)
						for i, a := range batch {
							for j := range want[i] {
								if math.Float32bits(a.Out[j]) != math.Float32bits(want[i][j]) {
									t.Fatalf("seq %d out[%d] = %v, one call %v", i, j, a.Out[j], want[i][j])
								}
							}
						}
					})
				}
			}
		}
	}
}
