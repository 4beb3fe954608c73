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
// (float64): AVX-512 lanes when available, expf for the tail. Chunks of 256
// keep each fp32 lane sum short (16 terms).
func expRowAVX512(x []float32, scale, bias float32) float64 {
	if !hasAVX512 {
		return expRowLanes(x, scale, bias, 16, 256, nil)
	}
	return expRowLanes(x, scale, bias, 16, 256, expScaleSum)
}

// maxRowAVX512 returns max(x) (-Inf for an empty row).
func maxRowAVX512(x []float32) float32 {
	if !hasAVX512 {
		return maxRowLanes(x, 16, nil)
	}
	return maxRowLanes(x, 16, maxF32)
}

// expRowLanes is the row driver of the lane kernels: kern (nil: none) runs
// on whole chunks of at most chunk elements (a multiple of lanes), each
// chunk's fp32 sum is added in float64, and expf does the tail.
func expRowLanes(x []float32, scale, bias float32, lanes, chunk int, kern func(x *float32, n int, scale, bias float32) float32) float64 {
	var sum float64
	i := 0
	if kern != nil {
		for len(x)-i >= lanes {
			n := min(chunk, len(x)-i) / lanes
			sum += float64(kern(&x[i], n, scale, bias))
			i += lanes * n
		}
	}
	for ; i < len(x); i++ {
		e := expf(x[i]*scale - bias)
		x[i] = e
		sum += float64(e)
	}
	return sum
}

// maxRowLanes returns max(x) (-Inf for an empty row): kern (nil: none) on
// the whole lanes, plain Go for the tail.
func maxRowLanes(x []float32, lanes int, kern func(x *float32, n int) float32) float32 {
	mx := float32(negInf)
	i := 0
	if kern != nil && len(x) >= lanes {
		n := len(x) / lanes
		mx = kern(&x[0], n)
		i = lanes * n
	}
	for _, v := range x[i:] {
		mx = max(mx, v)
	}
	return mx
}

func softmaxAVX512(x []float32)        { softmaxRow(x, maxRowAVX512, expRowAVX512) }
func siluMulAVX512(gate, up []float32) { siluMulRow(gate, up, expRowAVX512) }
