package cpu

import (
	"fmt"
	"math"
)

// RMSNorm normalises each row (Qwen2RMSNorm / Qwen3RMSNorm):
//
//	out[r,:] = w * (x[r,:] / sqrt(mean(x[r,:]²) + eps))
//
// x, out: [rows, dim]; w: [dim]; out may alias x.
// The sum of squares is accumulated in float64 and the mean rounded to
// float32 (torch reduces in float32 with a pairwise sum; float64 is at least
// as accurate, so the two agree to ~1e-7 relative). The scale
// 1/sqrt(mean+eps) is rounded to float32, then out = w * (x * scale) in
// float32, in the same order as the Hugging Face module.
func RMSNorm(out, x, w []float32, rows, dim int, eps float32) {
	if rows < 0 || dim < 0 || len(x) < rows*dim || len(out) < rows*dim || len(w) < dim {
		panic(fmt.Sprintf("cpu.RMSNorm: bad shapes rows=%d dim=%d len(out)=%d len(x)=%d len(w)=%d",
			rows, dim, len(out), len(x), len(w)))
	}
	w = w[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		or := out[r*dim : r*dim+dim]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		mean := float32(ss / float64(dim))
		scale := float32(1 / math.Sqrt(float64(mean+eps)))
		for i, v := range xr {
			or[i] = w[i] * (v * scale)
		}
	}
}
