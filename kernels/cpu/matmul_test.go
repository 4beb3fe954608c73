package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

type matShape struct{ m, n, k int }

var matShapes = func() []matShape {
	var s []matShape
	for _, m := range []int{1, 2, 3, 4, 5, 8, 17, 32} {
		for _, nk := range [][2]int{{1, 1}, {7, 33}, {33, 64}, {19, 96}, {64, 130}, {35, 255}, {16, 512}} {
			s = append(s, matShape{m, nk[0], nk[1]})
		}
	}
	return s
}()

// Tolerances are relative to Σ|x·w| for each output.
const (
	tolF32  = 2e-6 // fp32 accumulation, any order, k <= 512
	tolBF16 = 2e-5 // generic exact; fast path splits x into two bf16 (~16 bits)
	tolInt8 = 2e-6 // int8 widens exactly; fp32 accumulation
	// avx512bf16lowp rounds x to bf16: |error| <= 2⁻⁹ Σ|x·w| plus accumulation.
	tolBF16LowP = 2.5e-3
)

// bf16Tol is the MatMulBF16 tolerance (relative to Σ|x·w|) of path p.
func bf16Tol(p *impl) float64 {
	if p.name == "avx512bf16lowp" {
		return tolBF16LowP
	}
	return tolBF16
}

func TestMatMul(t *testing.T) {
	for _, p := range available() {
		for _, sh := range matShapes {
			m, n, k := sh.m, sh.n, sh.k
			t.Run(fmt.Sprintf("%s/m%d_n%d_k%d", p.name, m, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(m*1000003+n*1009+k), 1))
				x := randF32(rng, m*k, 2)
				out := make([]float32, m*n)

				wf := randF32(rng, n*k, 0.1)
				want, mag := refMatMul(x, func(j, q int) float64 { return float64(wf[j*k+q]) }, m, n, k)
				p.matMulF32(out, x, wf, m, n, k)
				if e := maxRelErr(out, want, mag); e > tolF32 {
					t.Errorf("F32: max rel err %.3g > %.3g", e, tolF32)
				}

				wb := randBF16(rng, n*k, 0.1)
				want, mag = refMatMul(x, func(j, q int) float64 { return float64(math.Float32frombits(uint32(wb[j*k+q]) << 16)) }, m, n, k)
				p.matMulBF16(out, x, wb, m, n, k)
				if e := maxRelErr(out, want, mag); e > bf16Tol(p) {
					t.Errorf("BF16: max rel err %.3g > %.3g", e, bf16Tol(p))
				}

				wi := randI8(rng, n*k)
				sc := randF32(rng, n, 0.01)
				want, mag = refMatMul(x, func(j, q int) float64 { return float64(wi[j*k+q]) * float64(sc[j]) }, m, n, k)
				p.matMulInt8(out, x, wi, sc, m, n, k)
				if e := maxRelErr(out, want, mag); e > tolInt8 {
					t.Errorf("Int8: max rel err %.3g > %.3g", e, tolInt8)
				}
			})
		}
	}
}
