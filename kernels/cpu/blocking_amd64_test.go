//go:build amd64

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulSmallPanels shrinks the weight panel to a few rows so the panel
// loop, row blocks and the shifted last column block all interleave.
func TestMatMulSmallPanels(t *testing.T) {
	defer func(p int) { panelBytes = p }(panelBytes)
	for _, pb := range []int{1, 4 << 10} {
		panelBytes = pb
		for _, p := range available()[1:] {
			for _, sh := range []matShape{{9, 37, 100}, {5, 18, 64}, {1, 10, 33}} {
				m, n, k := sh.m, sh.n, sh.k
				t.Run(fmt.Sprintf("panel%d/%s/m%d_n%d_k%d", pb, p.name, m, n, k), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
					x := randF32(rng, m*k, 1)
					w := randBF16(rng, n*k, 0.1)
					want, mag := refMatMul(x, func(j, q int) float64 { return float64(math.Float32frombits(uint32(w[j*k+q]) << 16)) }, m, n, k)
					out := make([]float32, m*n)
					p.matMulBF16(out, x, w, m, n, k)
					if e := maxRelErr(out, want, mag); e > bf16Tol(p) {
						t.Errorf("max rel err %.3g > %.3g", e, bf16Tol(p))
					}
				})
			}
		}
	}
}
