package cpu

import (
	"fmt"
	"math/rand/v2"
	"strings"
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

// BenchmarkAttention: one attention layer, block-causal mask (blocks of 4),
// the last nq positions of nk: SDAR-1.7B (16 query heads, 8 kv heads,
// headDim 128) decoding a 4-token block after a cache, and the demo-text
// model (4 query heads, 2 kv heads, headDim 32; and 40, which is not a
// multiple of 16) decoding a block (nq 4) or prefilling a prompt (nq = nk).
func BenchmarkAttention(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ nq, nk, nHeads, nKV, d int }{
		{4, 256, 16, 8, 128}, {4, 4096, 16, 8, 128},
		{4, 400, 4, 2, 32}, {400, 400, 4, 2, 32},
		{4, 400, 4, 2, 40}, {400, 400, 4, 2, 40},
	} {
		q := randF32(rng, c.nq*c.nHeads*c.d, 1)
		k := randF32(rng, c.nk*c.nKV*c.d, 1)
		v := randF32(rng, c.nk*c.nKV*c.d, 1)
		out := make([]float32, c.nq*c.nHeads*c.d)
		name := fmt.Sprintf("nq%d_nk%d", c.nq, c.nk)
		if c.d != 128 {
			name += fmt.Sprintf("_h%d_kv%d_d%d", c.nHeads, c.nKV, c.d)
		}
		for _, p := range available() {
			b.Run(name+"/"+p.name, func(b *testing.B) {
				for b.Loop() {
					p.attention(out, q, k, v, c.nq, c.nk-c.nq, c.nk, c.nHeads, c.nKV, c.d, Mask{Kind: BlockCausal, Block: 4})
				}
				reportFlops(b, 2*c.nq*c.nHeads, c.nk, c.d) // q·k and p·v (unmasked count)
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

// BenchmarkSiLUMul: the SwiGLU product of a 4-token block of SDAR-1.7B
// (intermediate 6144).
func BenchmarkSiLUMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(10, 10))
	g0, u := randF32(rng, 4*6144, 6), randF32(rng, 4*6144, 2)
	g := make([]float32, len(g0))
	for _, p := range available() {
		b.Run(fmt.Sprintf("rows4_n6144/%s", p.name), func(b *testing.B) {
			b.SetBytes(int64(4 * len(g)))
			for b.Loop() {
				copy(g, g0)
				p.siluMul(g, u)
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

// tinyLinears are the linear layers of the demo-text model (hidden 128, 4
// query heads and 2 kv heads of 32, intermediate 384) and its lm head
// (2048 tokens): [n, k].
var tinyLinears = []benchShape{
	{"q", 128, 128}, {"k", 64, 128}, {"v", 64, 128}, {"o", 128, 128},
	{"gate", 384, 128}, {"up", 384, 128}, {"down", 128, 384}, {"lmhead", 2048, 128},
}

// BenchmarkMatMulPacked compares the default exact path (MatMulBF16 on the
// fast impl, unpacked weights) with MatMulPacked on each fast packed
// kernel (packedKernels: cols on avx2, pairs on avx512bf16panel), 1 and 2
// threads: SDAR-1.7B shapes at m = 1, 4, 8, 32 rows and the demo-text
// model's at m = 1, 4, 16, 64. "layer" runs the seven linears of one
// decoder layer in turn (sdar: weights rotate among copies so each call
// reads DRAM; tiny: one copy, in cache as in a real forward pass). The
// paths are adjacent sub-benchmarks, so rounds of `go test -count=1`
// alternate them. GB/s counts the bf16 weight bytes (2nk) per call.
func BenchmarkMatMulPacked(b *testing.B) {
	defer SetThreads(numThreads())
	var kerns []packedKernel
	for _, pk := range packedKernels() {
		if !strings.HasPrefix(pk.name, "generic/") {
			kerns = append(kerns, pk)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	type mats struct {
		w  [][]uint16
		pw [][]*PackedBF16 // [kernel][linear]
	}
	for _, model := range []struct {
		name string
		lin  []benchShape
		ms   []int
		copy bool
	}{
		{"sdar", sdarLinears, []int{1, 4, 8, 32}, true},
		{"tiny", tinyLinears, []int{1, 4, 16, 64}, false},
	} {
		layer := model.lin
		if model.name == "tiny" {
			layer = layer[:7]
		}
		shapes := append([]benchShape{{"layer", 0, 0}}, model.lin...)
		for _, sh := range shapes {
			lin := []benchShape{sh}
			if sh.name == "layer" {
				lin = layer
			}
			bytes, maxK := 0, 0
			for _, l := range lin {
				bytes += 2 * l.n * l.k
				maxK = max(maxK, l.k, l.n)
			}
			copies := 1
			if model.copy {
				copies = copiesFor(bytes)
			}
			var ms []mats // ms[copy] holds one matrix per linear
			for range copies {
				c := mats{pw: make([][]*PackedBF16, len(kerns))}
				for _, l := range lin {
					w := randBF16(rng, l.n*l.k, 0.05)
					c.w = append(c.w, w)
					for ki, pk := range kerns {
						c.pw[ki] = append(c.pw[ki], pk.pack(w, l.n, l.k))
					}
				}
				ms = append(ms, c)
			}
			for _, m := range model.ms {
				x := randF32(rng, m*maxK, 1)
				out := make([]float32, m*maxK)
				flops := 0
				for _, l := range lin {
					flops += 2 * m * l.n * l.k
				}
				for _, th := range []int{1, 2} {
					for ki := -1; ki < len(kerns); ki++ {
						name := fast.name
						if ki >= 0 {
							name = "packed-" + kerns[ki].name
						}
						b.Run(fmt.Sprintf("%s/%s/m%d/t%d/%s", model.name, sh.name, m, th, name), func(b *testing.B) {
							SetThreads(th)
							b.SetBytes(int64(bytes))
							c := 0
							for b.Loop() {
								cp := &ms[c%len(ms)]
								for li, l := range lin {
									if ki >= 0 {
										kerns[ki].fn(out[:m*l.n], x[:m*l.k], cp.pw[ki][li], m)
									} else {
										fast.matMulBF16(out[:m*l.n], x[:m*l.k], cp.w[li], m, l.n, l.k)
									}
								}
								c++
							}
							b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs")
							b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
						})
					}
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
