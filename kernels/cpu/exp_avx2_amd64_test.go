//go:build amd64

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpLanesMatch: on a CPU with AVX-512 and AVX2, the 8-lane exp and
// SiLU give every element the bits of the 16-lane ones (same instruction
// sequence; y·2^n by exponent addition instead of VSCALEFPS, exact on the
// clamped range).
func TestExpLanesMatch(t *testing.T) {
	if !hasAVX512 || !hasAVX2 {
		t.Skip("needs AVX-512 and AVX2")
	}
	rng := rand.New(rand.NewPCG(6, 6))
	x := randF32(rng, 1024, 100)
	for i, e := range []float32{-87.33654, -87.34, 88.72283, 88.8, 0, float32(math.Inf(-1))} {
		x[i] = e
	}
	a, b := append([]float32(nil), x...), append([]float32(nil), x...)
	expScaleSum(&a[0], len(a)/16, 0.75, -1)
	expScaleSum8(&b[0], len(b)/8, 0.75, -1)
	g1, g2, u := append([]float32(nil), x...), append([]float32(nil), x...), randF32(rng, len(x), 2)
	siluMulRow(g1, u, expRowAVX512)
	siluMul8(&g2[0], &u[0], len(g2)/8)
	for i := range x {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("exp(%v·0.75+1): 16 lanes %v, 8 lanes %v", x[i], a[i], b[i])
		}
		if math.Float32bits(g1[i]) != math.Float32bits(g2[i]) {
			t.Fatalf("silu(%v)·%v: 16 lanes %v, 8 lanes %v", x[i], u[i], g1[i], g2[i])
		}
	}
}
