package cpu

import "math"

// Plain-Go matmuls (the "generic" path). Precision: fp32 products and fp32
// accumulation in 4 interleaved partial sums; bf16/int8 weights are widened
// exactly to fp32 first, so all three agree with a float64 reference to
// about k·2⁻²⁴ relative to Σ|x·w|.

const genericGrain = 8 // output features per scheduling unit

// matMulF32Generic: out [m,n] = x [m,k] · w [n,k]ᵀ.
func matMulF32Generic(out, x, w []float32, m, n, k int) {
	parallelFor(n, genericGrain, func(j0, j1 int) {
		for j := j0; j < j1; j++ {
			wr := w[j*k : j*k+k]
			for i := 0; i < m; i++ {
				out[i*n+j] = dotF32(x[i*k:i*k+k], wr)
			}
		}
	})
}

// matMulBF16Generic: out [m,n] = x [m,k] · bf16(w [n,k])ᵀ; each weight row is
// widened once into a [k] scratch row and reused for all m rows of x.
func matMulBF16Generic(out, x []float32, w []uint16, m, n, k int) {
	parallelFor(n, genericGrain, func(j0, j1 int) {
		row := make([]float32, k)
		for j := j0; j < j1; j++ {
			wr := w[j*k : j*k+k]
			for p, b := range wr {
				row[p] = math.Float32frombits(uint32(b) << 16)
			}
			for i := 0; i < m; i++ {
				out[i*n+j] = dotF32(x[i*k:i*k+k], row)
			}
		}
	})
}

// matMulInt8Generic: out[i,j] = scales[j] · Σ_p x[i,p]·float32(w[j,p]).
func matMulInt8Generic(out, x []float32, w []int8, scales []float32, m, n, k int) {
	parallelFor(n, genericGrain, func(j0, j1 int) {
		row := make([]float32, k)
		for j := j0; j < j1; j++ {
			wr := w[j*k : j*k+k]
			for p, b := range wr {
				row[p] = float32(b)
			}
			s := scales[j]
			for i := 0; i < m; i++ {
				out[i*n+j] = s * dotF32(x[i*k:i*k+k], row)
			}
		}
	})
}
