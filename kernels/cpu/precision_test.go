package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulBF16Precision measures each path against a float64 reference at a
// model-like shape (k = 2048) and checks the error bounds the package doc
// states: relative to Σ|x·w| per output, generic/avx512 <= 1e-6 (exact
// bf16→fp32 widening, fp32 accumulation) and avx512bf16 <= 1e-6 (measured 2.3e-7; activations
// split into two bf16, ~16 mantissa bits); avx2 <= 1e-6; the opt-in
// avx512bf16lowp (x rounded to bf16) <= 2.5e-3 (measured 1.8e-4).
func TestMatMulBF16Precision(t *testing.T) {
	const m, n, k = 4, 256, 2048
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, m*k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	w := make([]uint16, n*k)
	for i := range w {
		w[i] = bf16(float32(rng.NormFloat64() * 0.02))
	}
	want, mag := refMatMul(x, func(j, p int) float64 { return float64(math.Float32frombits(uint32(w[j*k+p]) << 16)) }, m, n, k)
	bound := map[string]float64{"generic": 1e-6, "avx2": 1e-6, "avx512": 1e-6, "avx512bf16": 1e-6, "avx512bf16lowp": tolBF16LowP, "avx512bf16panel": 1e-6}
	out := make([]float32, m*n)
	for _, p := range available() {
		p.matMulBF16(out, x, w, m, n, k)
		relMag := maxRelErr(out, want, mag)
		var relOut, absErr float64
		for i, v := range want {
			e := math.Abs(float64(out[i]) - v)
			absErr = max(absErr, e)
			if math.Abs(v) > 1e-2*mag[i] {
				relOut = max(relOut, e/math.Abs(v))
			}
		}
		t.Logf("%-10s max err/Σ|x·w| = %.2e, max err/|y| (|y| > 1%% Σ|x·w|) = %.2e, max abs err = %.2e (|y| ~ %.2f)",
			p.name, relMag, relOut, absErr, math.Sqrt(float64(k))*0.02)
		if relMag > bound[p.name] {
			t.Errorf("%s: max err/Σ|x·w| = %.3g > %.3g", p.name, relMag, bound[p.name])
		}
	}
}
