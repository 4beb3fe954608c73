package cpu

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time of the calling thread (RUSAGE_THREAD): with
// the goroutine locked to its thread, a 1-thread benchmark's own time,
// which other processes sharing the cores do not inflate as they do the
// wall clock.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMatMulPackedAMX compares the AVX-512 panel kernels
// (matMulPackedAVX512) with the AMX tiles (matMulPackedAMX) on the same
// pairs-packed weights: the seven linears of one SDAR-1.7B layer in turn
// (sdarLinears, weights rotating among copies of ≥ 128 MiB so each call
// reads DRAM), m = 1..64 rows, 1 and 2 threads. The two kernels are
// adjacent sub-benchmarks, so rounds of `go test -count=N` alternate them;
// compare medians. GB/s counts the bf16 weight bytes per layer; at 1
// thread "cpu-µs" is the thread's CPU time per layer (robust when other
// processes share the cores).
//
//	go test -run '^$' -bench MatMulPackedAMX -count 7 ./kernels/cpu
func BenchmarkMatMulPackedAMX(b *testing.B) {
	if !hasAMX {
		b.Skip("no AMX-BF16 on this CPU/OS")
	}
	defer SetThreads(numThreads())
	kerns := []struct {
		name string
		fn   func(out, x []float32, pw *PackedBF16, m int)
	}{{"panel", matMulPackedAVX512}, {"amx", matMulPackedAMX}}
	rng := rand.New(rand.NewPCG(21, 22))
	bytes, maxK := 0, 0
	for _, l := range sdarLinears {
		bytes += 2 * l.n * l.k
		maxK = max(maxK, l.k, l.n)
	}
	copies := make([][]*PackedBF16, copiesFor(bytes)) // [copy][linear]
	for c := range copies {
		for _, l := range sdarLinears {
			copies[c] = append(copies[c], packBF16(nil, randBF16(rng, l.n*l.k, 0.05), l.n, l.k, packPairs))
		}
	}
	for _, m := range []int{1, 4, 8, 16, 32, 64, 128} { // 128: batch 16 × block 8
		x := randF32(rng, m*maxK, 1)
		out := make([]float32, m*maxK)
		flops := 0
		for _, l := range sdarLinears {
			flops += 2 * m * l.n * l.k
		}
		for _, th := range []int{1, 2} {
			for _, kern := range kerns {
				b.Run(fmt.Sprintf("sdar/layer/m%d/t%d/%s", m, th, kern.name), func(b *testing.B) {
					SetThreads(th)
					b.SetBytes(int64(bytes))
					if th == 1 {
						runtime.LockOSThread() // for threadCPU
						defer runtime.UnlockOSThread()
					}
					cpu0 := threadCPU()
					c := 0
					for b.Loop() {
						for li, l := range sdarLinears {
							kern.fn(out[:m*l.n], x[:m*l.k], copies[c%len(copies)][li], m)
						}
						c++
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs")
					b.ReportMetric(float64(flops)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if th == 1 {
						b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(b.N)/1e3, "cpu-µs")
					}
				})
			}
		}
	}
}
