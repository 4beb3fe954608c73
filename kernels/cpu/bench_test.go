package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks report weight traffic in GB/s (b.SetBytes: weight bytes per
// call) and useful GFLOP/s (2·m·n·k per call) for every available path.
// Weights rotate among enough copies (≥ 128 MiB in all) that every call
// reads them from DRAM, not from the 32 MiB L3, as in a real forward pass.

type benchShape struct {
	name string
	n, k int
}

var (
	sdarShape   = benchShape{"sdar_n6144_k2048", 6144, 2048}
	lmHeadShape = benchShape{"lmhead_n151936_k2048", 151936, 2048}
)

// copiesFor returns how many copies of a weight matrix of size bytes make
// at least 128 MiB.
func copiesFor(bytes int) int { return max(1, (128<<20+bytes-1)/bytes) }

func reportFlops(b *testing.B, m, n, k int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMatMulBF16(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []benchShape{sdarShape, lmHeadShape} {
		ws := make([][]uint16, copiesFor(2*sh.n*sh.k))
		for c := range ws {
			ws[c] = randBF16(rng, sh.n*sh.k, 0.05)
		}
		ms := []int{1, 4, 8, 32}
		if sh == lmHeadShape {
			ms = []int{1}
		}
		for _, m := range ms {
			x := randF32(rng, m*sh.k, 1)
			out := make([]float32, m*sh.n)
			for _, p := range available() {
				b.Run(fmt.Sprintf("%s/m%d/%s", sh.name, m, p.name), func(b *testing.B) {
					b.SetBytes(int64(2 * sh.n * sh.k))
					c := 0
					for b.Loop() {
						p.matMulBF16(out, x, ws[c%len(ws)], m, sh.n, sh.k)
						c++
					}
					reportFlops(b, m, sh.n, sh.k)
				})
			}
		}
	}
}

func BenchmarkMatMulF32(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	sh := sdarShape
	ws := make([][]float32, copiesFor(4*sh.n*sh.k))
	for c := range ws {
		ws[c] = randF32(rng, sh.n*sh.k, 0.05)
	}
	for _, m := range []int{1, 8} {
		x := randF32(rng, m*sh.k, 1)
		out := make([]float32, m*sh.n)
		for _, p := range available() {
			b.Run(fmt.Sprintf("%s/m%d/%s", sh.name, m, p.name), func(b *testing.B) {
				b.SetBytes(int64(4 * sh.n * sh.k))
				c := 0
				for b.Loop() {
					p.matMulF32(out, x, ws[c%len(ws)], m, sh.n, sh.k)
					c++
				}
				reportFlops(b, m, sh.n, sh.k)
			})
		}
	}
}

func BenchmarkMatMulInt8(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	sh := sdarShape
	ws := make([][]int8, copiesFor(sh.n*sh.k))
	for c := range ws {
		ws[c] = randI8(rng, sh.n*sh.k)
	}
	sc := randF32(rng, sh.n, 0.01)
	for _, m := range []int{1, 8} {
		x := randF32(rng, m*sh.k, 1)
		out := make([]float32, m*sh.n)
		for _, p := range available() {
			b.Run(fmt.Sprintf("%s/m%d/%s", sh.name, m, p.name), func(b *testing.B) {
				b.SetBytes(int64(sh.n * sh.k))
				c := 0
				for b.Loop() {
					p.matMulInt8(out, x, ws[c%len(ws)], sc, m, sh.n, sh.k)
					c++
				}
				reportFlops(b, m, sh.n, sh.k)
			})
		}
	}
}

func BenchmarkMeasureReadBandwidth(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("512MiB/threads%d", th), func(b *testing.B) {
			var gbs float64
			for b.Loop() {
				gbs = MeasureReadBandwidth(512<<20, th)
			}
			b.ReportMetric(gbs, "GB/s")
		})
	}
}

// BenchmarkAttention: one SDAR-1.7B-like layer (16 query heads, 8 kv heads,
// headDim 128), a 4-token block after a cache, block-causal mask.
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	const nHeads, nKV, d, nq = 16, 8, 128, 4
	for _, nk := range []int{256, 4096} {
		q := randF32(rng, nq*nHeads*d, 1)
		k := randF32(rng, nk*nKV*d, 1)
		v := randF32(rng, nk*nKV*d, 1)
		out := make([]float32, nq*nHeads*d)
		for _, p := range available() {
			b.Run(fmt.Sprintf("nq%d_nk%d/%s", nq, nk, p.name), func(b *testing.B) {
				for b.Loop() {
					p.attention(out, q, k, v, nq, nk-nq, nk, nHeads, nKV, d, Mask{Kind: BlockCausal, Block: 4})
				}
				reportFlops(b, 2*nq*nHeads, nk, d) // q·k and p·v
			})
		}
	}
}

// BenchmarkSoftmax: one row over a Qwen vocabulary.
func BenchmarkSoftmax(b *testing.B) {
	x0 := randF32(rand.New(rand.NewPCG(9, 9)), 151936, 20)
	x := make([]float32, len(x0))
	for _, p := range available() {
		b.Run(fmt.Sprintf("vocab151936/%s", p.name), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				copy(x, x0)
				p.softmax(x)
			}
		})
	}
}
