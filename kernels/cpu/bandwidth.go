package cpu

import (
	"math"
	"sync"
	"time"
)

// MeasureReadBandwidth streams a buffer of about `bytes` bytes with `threads`
// goroutines (each reads its own contiguous share) and returns the best of a
// few passes in GB/s (1e9 bytes per second). The buffer is allocated and
// written once before timing. Use a buffer much larger than the last-level
// cache (e.g. 512<<20) to measure DRAM bandwidth: this is the roofline for
// memory-bound matmuls (weight bytes / second).
func MeasureReadBandwidth(bytes, threads int) float64 {
	threads = max(threads, 1)
	nw := max(bytes/8, 8*threads) // uint64 words; each share is whole 64-byte lines
	nw -= nw % (8 * threads)
	buf := make([]uint64, nw)
	for i := range buf {
		buf[i] = uint64(i)
	}
	share := nw / threads
	sinks := make([]uint64, threads*8) // one cache line apart
	pass := func() time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for t := range threads {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				sinks[t*8] += readSum(buf[t*share : (t+1)*share])
			}(t)
		}
		wg.Wait()
		return time.Since(start)
	}
	pass() // warm: page-in and TLB
	best := time.Duration(math.MaxInt64)
	for range 5 {
		best = min(best, pass())
	}
	return float64(nw*8) / best.Seconds() / 1e9
}

// readSumGeneric folds every word of b (len(b) multiple of 8) so the loads
// cannot be elided.
func readSumGeneric(b []uint64) uint64 {
	var s0, s1, s2, s3 uint64
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += b[i] ^ b[i+4]
		s1 += b[i+1] ^ b[i+5]
		s2 += b[i+2] ^ b[i+6]
		s3 += b[i+3] ^ b[i+7]
	}
	return s0 + s1 + s2 + s3
}
