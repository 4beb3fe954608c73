package cpu

import (
	"math"
	"math/rand/v2"
)

// Float64 references and random data shared by the tests.

func randF32(rng *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = (rng.Float32()*2 - 1) * scale
	}
	return s
}

func randBF16(rng *rand.Rand, n int, scale float32) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = bf16((rng.Float32()*2 - 1) * scale)
	}
	return s
}

func randI8(rng *rand.Rand, n int) []int8 {
	s := make([]int8, n)
	for i := range s {
		s[i] = int8(rng.IntN(255) - 127)
	}
	return s
}

// refMatMul returns out [m,n] = x [m,k] · w [n,k]ᵀ in float64, and the matching
// Σ|x·w| per output, which bounds rounding error of any summation order.
func refMatMul(x []float32, wAt func(j, p int) float64, m, n, k int) (out, mag []float64) {
	out = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, a float64
			for p := range k {
				v := float64(x[i*k+p]) * wAt(j, p)
				s += v
				a += math.Abs(v)
			}
			out[i*n+j], mag[i*n+j] = s, a
		}
	}
	return out, mag
}

// maxRelErr returns max |got-want| / mag over all entries (mag > 0).
func maxRelErr(got []float32, want, mag []float64) float64 {
	var worst float64
	for i, w := range want {
		if mag[i] == 0 {
			if got[i] != 0 {
				return math.Inf(1)
			}
			continue
		}
		worst = max(worst, math.Abs(float64(got[i])-w)/mag[i])
	}
	return worst
}
