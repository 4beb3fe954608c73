//go:build amd64

package cpu

// expScaleSum sets x[i] = exp(x[i]*scale - bias) for i < 16n with the expf
// algorithm on AVX-512 lanes (FMA-fused, so within an ulp or so of expf;
// results below 2^-126 are 0) and returns their fp32 sum.
//
//go:noescape
func expScaleSum(x *float32, n int, scale, bias float32) float32

// maxF32 returns the maximum of x[0:16n], n >= 1 (AVX-512).
//
//go:noescape
func maxF32(x *float32, n int) float32

// expRowAVX512 sets x[i] = exp(x[i]*scale - bias) for all i and returns the sum
// (float64): AVX-512 lanes when available, expf for the tail.
func expRowAVX512(x []float32, scale, bias float32) float64 {
	var sum float64
	i := 0
	if hasAVX512 {
		// Chunks of 256 keep each fp32 lane sum short (16 terms); chunk
		// sums are added in float64.
		for len(x)-i >= 16 {
			n := min(256, len(x)-i) / 16
			sum += float64(expScaleSum(&x[i], n, scale, bias))
			i += 16 * n
		}
	}
	for ; i < len(x); i++ {
		e := expf(x[i]*scale - bias)
		x[i] = e
		sum += float64(e)
	}
	return sum
}

// maxRowAVX512 returns max(x) (-Inf for an empty row).
func maxRowAVX512(x []float32) float32 {
	mx := float32(negInf)
	i := 0
	if hasAVX512 && len(x) >= 16 {
		n := len(x) / 16
		mx = maxF32(&x[0], n)
		i = 16 * n
	}
	for _, v := range x[i:] {
		mx = max(mx, v)
	}
	return mx
}

func softmaxAVX512(x []float32)        { softmaxRow(x, maxRowAVX512, expRowAVX512) }
func siluMulAVX512(gate, up []float32) { siluMulRow(gate, up, expRowAVX512) }
