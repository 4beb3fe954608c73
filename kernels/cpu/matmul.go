package cpu

import "fmt"

// Linear layers: y = x · wᵀ.
//   x:   [m, k] row-major activations (m tokens)
//   w:   [n, k] row-major weights, as Hugging Face nn.Linear.weight [out_features, in_features]
//   out: [m, n] row-major, overwritten
// Work is split over n (output features) across SetThreads goroutines, so each
// weight row is read once per call whatever m is.

// MatMulF32 computes out[i,j] = Σ_p x[i,p]·w[j,p] with float32 weights.
func MatMulF32(out, x, w []float32, m, n, k int) {
	checkMatMul("MatMulF32", len(out), len(x), len(w), m, n, k)
	active.matMulF32(out, x, w, m, n, k)
}

// MatMulBF16 computes out[i,j] = Σ_p x[i,p]·w[j,p] with w holding raw bf16 bits.
// See the package doc for the precision of each path.
func MatMulBF16(out, x []float32, w []uint16, m, n, k int) {
	checkMatMul("MatMulBF16", len(out), len(x), len(w), m, n, k)
	active.matMulBF16(out, x, w, m, n, k)
}

// MatMulInt8 computes out[i,j] = scales[j] · Σ_p x[i,p]·w[j,p] (per-output-row
// symmetric int8 quantisation: the dequantised weight is w[j,:]*scales[j]).
// scales: [n].
func MatMulInt8(out, x []float32, w []int8, scales []float32, m, n, k int) {
	checkMatMul("MatMulInt8", len(out), len(x), len(w), m, n, k)
	if len(scales) < n {
		panic(fmt.Sprintf("cpu.MatMulInt8: len(scales)=%d < n=%d", len(scales), n))
	}
	active.matMulInt8(out, x, w, scales, m, n, k)
}

func checkMatMul(name string, lo, lx, lw, m, n, k int) {
	if m < 0 || n < 0 || k < 0 || lo < m*n || lx < m*k || lw < n*k {
		panic(fmt.Sprintf("cpu.%s: bad shapes m=%d n=%d k=%d with len(out)=%d len(x)=%d len(w)=%d",
			name, m, n, k, lo, lx, lw))
	}
}

// dotF32 returns Σ a[i]·b[i] over len(a) with 4 float32 accumulators.
func dotF32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
