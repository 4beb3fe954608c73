package cuda

import (
	"time"
)

// MeasureBandwidth times device-to-device copies of a bytes-long buffer
// and returns the memory bandwidth they reach in GB/s, counting each
// copied byte once read and once written (what a weight-streaming
// forward is bounded by; an H200's HBM3e is rated 4.8 TB/s).
func (b *Backend) MeasureBandwidth(bytes int64) (float64, error) {
	src, err := b.C.Alloc(bytes)
	if err != nil {
		return 0, err
	}
	defer src.Free()
	dst, err := b.C.Alloc(bytes)
	if err != nil {
		return 0, err
	}
	defer dst.Free()
	const iters = 10
	best := time.Duration(1 << 62)
	for round := range 3 {
		t0 := time.Now()
		err := b.C.Run(func(q *Queue) error {
			for range iters {
				if err := q.Copy(dst.Ptr, src.Ptr, bytes); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if d := time.Since(t0); round > 0 && d < best { // round 0 warms up
			best = d
		}
	}
	return 2 * float64(bytes) * iters / best.Seconds() / 1e9, nil
}
