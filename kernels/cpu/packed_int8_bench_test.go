package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatMulPackedInt8 runs the seven linears of one SDAR-1.7B decoder
// layer (sdarLinears) in turn at m = 1, 4, 8, 32 rows, 1 and 2 threads, on
// int8 weights: "int8-<path>" is MatMulInt8 on the fast impl (unpacked,
// exact fp32 activations), "packed-int8" is MatMulPackedInt8 (the VNNI
// kernels where the CPU has them, else the generic twin, which is skipped
// above m = 1 as too slow to matter); "packed-bf16" is MatMulPacked on bf16
// copies of the same weights (pairs layout, where the CPU has VDPBF16PS),
// the speed the int8 path is measured against. Weights rotate among copies
// (≥ 128 MiB of int8) so each call reads DRAM. GB/s counts the int8 weight
// bytes (nk) per call; the paths are adjacent sub-benchmarks, so rounds of
// `go test -count=1` alternate them.
func BenchmarkMatMulPackedInt8(b *testing.B) {
	defer SetThreads(numThreads())
	rng := rand.New(rand.NewPCG(21, 22))
	bytes, maxK, flops1 := 0, 0, 0
	for _, l := range sdarLinears {
		bytes += l.n * l.k
		maxK = max(maxK, l.k, l.n)
		flops1 += 2 * l.n * l.k
	}
	var bf16Kernel *packedKernel
	for _, pk := range packedKernels() {
		if pk.layout == packPairs && pk.name != "generic/pairs" {
			bf16Kernel = &pk
		}
	}
	type mats struct {
		w   [][]int8
		sc  [][]float32
		pi8 []*PackedInt8
		pbf []*PackedBF16
	}
	ms := make([]mats, copiesFor(bytes))
	for c := range ms {
		for _, l := range sdarLinears {
			w, sc := randI8(rng, l.n*l.k), randF32(rng, l.n, 0.001)
			ms[c].w, ms[c].sc = append(ms[c].w, w), append(ms[c].sc, sc)
			ms[c].pi8 = append(ms[c].pi8, PackInt8(w, sc, l.n, l.k))
			if bf16Kernel != nil {
				wb := make([]uint16, l.n*l.k)
				for i, v := range w {
					wb[i] = bf16(float32(v) * sc[i/l.k])
				}
				ms[c].pbf = append(ms[c].pbf, bf16Kernel.pack(wb, l.n, l.k))
			}
		}
	}
	paths := []string{"int8-" + fast.name, "packed-int8"}
	if bf16Kernel != nil {
		paths = append(paths, "packed-bf16")
	}
	for _, m := range []int{1, 4, 8, 32} {
		x := randF32(rng, m*maxK, 1)
		out := make([]float32, m*maxK)
		for _, th := range []int{1, 2} {
			for _, path := range paths {
				if path == "packed-int8" && !vnniActive() && m > 1 {
					continue
				}
				b.Run(fmt.Sprintf("sdar/layer/m%d/t%d/%s", m, th, path), func(b *testing.B) {
					SetThreads(th)
					b.SetBytes(int64(bytes))
					c := 0
					for b.Loop() {
						cp := &ms[c%len(ms)]
						for li, l := range sdarLinears {
							o, xi := out[:m*l.n], x[:m*l.k]
							switch path {
							case "packed-int8":
								MatMulPackedInt8(o, xi, cp.pi8[li], m)
							case "packed-bf16":
								bf16Kernel.fn(o, xi, cp.pbf[li], m)
							default:
								fast.matMulInt8(o, xi, cp.w[li], cp.sc[li], m, l.n, l.k)
							}
						}
						c++
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs")
					b.ReportMetric(float64(m*flops1)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkPackInt8: the load-time repacking of one SDAR-1.7B gate/up matrix.
func BenchmarkPackInt8(b *testing.B) {
	rng := rand.New(rand.NewPCG(23, 24))
	w, sc := randI8(rng, 6144*2048), randF32(rng, 6144, 0.001)
	b.SetBytes(6144 * 2048)
	for b.Loop() {
		PackInt8(w, sc, 6144, 2048)
	}
}
