//go:build amd64

package cpu

// 8-lane AVX2 + FMA kernels from exp_avx2_amd64.s: the AVX-512 exp
// algorithm (same constants, same rounding; each element gets the bits
// expScaleSum gives it) for CPUs without AVX-512.

// expScaleSum8 sets x[i] = exp(x[i]*scale - bias) for i < 8n (0 below
// -87.33654) and returns their fp32 sum.
//
//go:noescape
func expScaleSum8(x *float32, n int, scale, bias float32) float32

// maxF32x8 returns the maximum of x[0:8n], n >= 1.
//
//go:noescape
func maxF32x8(x *float32, n int) float32

// siluMul8 sets gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i] for i < 8n.
//
//go:noescape
func siluMul8(gate, up *float32, n int)

// expRowAVX2 sets x[i] = exp(x[i]*scale - bias) for all i and returns the
// sum (float64): AVX2 lanes when available, expf for the tail. Chunks of 128
// keep each fp32 lane sum short (16 terms, as the AVX-512 one).
func expRowAVX2(x []float32, scale, bias float32) float64 {
	if !hasAVX2 {
		return expRowLanes(x, scale, bias, 8, 128, nil)
	}
	return expRowLanes(x, scale, bias, 8, 128, expScaleSum8)
}

// maxRowAVX2 returns max(x) (-Inf for an empty row).
func maxRowAVX2(x []float32) float32 {
	if !hasAVX2 {
		return maxRowLanes(x, 8, nil)
	}
	return maxRowLanes(x, 8, maxF32x8)
}

func softmaxAVX2(x []float32) { softmaxRow(x, maxRowAVX2, expRowAVX2) }

// siluMulAVX2 is SiLUMul on 8 lanes (exp, divide and multiply in one
// pass), the tail as siluMulGeneric.
func siluMulAVX2(gate, up []float32) {
	up = up[:len(gate)]
	i := 0
	if hasAVX2 && len(gate) >= 8 {
		n := len(gate) / 8
		siluMul8(&gate[0], &up[0], n)
		i = 8 * n
	}
	siluMulGeneric(gate[i:], up[i:])
}
