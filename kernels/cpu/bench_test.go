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

// sdarLinears are the linear layers of one SDAR-1.7B decoder layer (hidden
// 2048, 16 query heads and 8 kv heads of 128, intermediate 6144): [n, k].
var sdarLinears = []benchShape{
	{"q", 2048, 2048}, {"k", 1024, 2048}, {"v", 1024, 2048}, {"o", 2048, 2048},
	{"gate", 6144, 2048}, {"up", 6144, 2048}, {"down", 2048, 6144},
}

// BenchmarkMatMulPacked compares the default exact path (MatMulBF16 on the
// fast impl) with MatMulPacked at SDAR-1.7B shapes, m = 1, 4, 8, 32 rows,
// 1 and 2 threads. "layer" runs the seven linears of one decoder layer in
// turn. The two paths are adjacent sub-benchmarks, so rounds of
// `go test -count=1` alternate them. GB/s counts the bf16 weight bytes (2nk)
// per call; copies of the weights rotate so each call reads DRAM.
func BenchmarkMatMulPacked(b *testing.B) {
	defer SetThreads(numThreads())
	pk := packedImpls()
	packed := pk[len(pk)-1]
	rng := rand.New(rand.NewPCG(11, 12))
	type mats struct {
		w  [][]uint16
		pw []*PackedBF16
	}
	shapes := append([]benchShape{{"layer", 0, 0}}, sdarLinears...)
	layerBytes := 0
	for _, sh := range sdarLinears {
		layerBytes += 2 * sh.n * sh.k
	}
	for _, sh := range shapes {
		var ms []mats // ms[copy] holds one matrix per linear (all 7 for "layer")
		lin := []benchShape{sh}
		bytes := 2 * sh.n * sh.k
		if sh.name == "layer" {
			lin, bytes = sdarLinears, layerBytes
		}
		for range copiesFor(bytes) {
			var c mats
			for _, l := range lin {
				w := randBF16(rng, l.n*l.k, 0.05)
				c.w = append(c.w, w)
				c.pw = append(c.pw, PackBF16(w, l.n, l.k))
			}
			ms = append(ms, c)
		}
		for _, m := range []int{1, 4, 8, 32} {
			x := randF32(rng, m*6144, 1)
			out := make([]float32, m*6144)
			flops := 0
			for _, l := range lin {
				flops += 2 * m * l.n * l.k
			}
			for _, th := range []int{1, 2} {
				for _, path := range []string{fast.name, packed.name} {
					b.Run(fmt.Sprintf("%s/m%d/t%d/%s", sh.name, m, th, path), func(b *testing.B) {
						SetThreads(th)
						b.SetBytes(int64(bytes))
						c := 0
						for b.Loop() {
							cp := &ms[c%len(ms)]
							for li, l := range lin {
								if path == packed.name {
									packed.matMulPacked(out, x, cp.pw[li], m)
								} else {
									fast.matMulBF16(out, x, cp.w[li], m, l.n, l.k)
								}
							}
							c++
						}
						b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms")
						b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}

// BenchmarkPackBF16: the load-time repacking of one SDAR-1.7B gate/up matrix.
func BenchmarkPackBF16(b *testing.B) {
	w := randBF16(rand.New(rand.NewPCG(13, 14)), 6144*2048, 0.05)
	b.SetBytes(2 * 6144 * 2048)
	for b.Loop() {
		PackBF16(w, 6144, 2048)
	}
}
