package cpu

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestFMA32: fma32 (the generic packCols kernel's VFMADD231PS) against the
// exact x·w + acc rounded once to float32 (math/big, nearest even), on
// edge values (cancellation, ties, subnormals, overflow) and random bits.
func TestFMA32(t *testing.T) {
	f := math.Float32frombits
	cases := [][3]float32{
		{1, 1, -1}, {1 + 1.0/128, 1 + 1.0/128, -1}, {3, 1.0 / 3, -1},
		{1, 1, 1.0 / (1 << 24)}, {1, 1, 1.0/(1<<24) + 1.0/(1<<40)}, {1, 1 + 1.0/(1<<23), -1.0 / (1 << 47)},
		{f(0x00000001), 0.5, 0}, {f(0x00800000), 0.5, f(0x00000001)}, {1e-30, 1e-10, 1e-39},
		{math.MaxFloat32, 2, -math.MaxFloat32}, {math.MaxFloat32, 1, math.MaxFloat32}, {-0.0, 1, 0}, {0, -1, -0.0},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		x := f(rng.Uint32())
		w := f(uint32(rng.Uint32N(1<<16)) << 16) // a bf16 weight
		acc := f(rng.Uint32())
		if rng.IntN(2) == 0 { // close to -x·w: cancellation
			acc = -x*w + f(rng.Uint32()&0x807fffff|(math.Float32bits(x*w)&0x7f800000-0x0b800000))
		}
		cases = append(cases, [3]float32{x, w, acc})
	}
	for _, c := range cases {
		x, w, acc := c[0], c[1], c[2]
		if isNonFinite(x) || isNonFinite(w) || isNonFinite(acc) {
			continue
		}
		got, want := fma32(x, w, acc), exactFMA32(x, w, acc)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#08x), exact %g (%#08x)", x, w, acc, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

func isNonFinite(v float32) bool { return math.IsInf(float64(v), 0) || v != v }

// exactFMA32 is x·w + acc rounded once to float32 (±Inf past MaxFloat32;
// an exact zero sum is +0 unless both addends are -0, as in IEEE 754).
func exactFMA32(x, w, acc float32) float32 {
	p := new(big.Float).SetPrec(1000)
	p.Mul(new(big.Float).SetFloat64(float64(x)), new(big.Float).SetFloat64(float64(w)))
	s := new(big.Float).SetPrec(1000).Add(p, new(big.Float).SetFloat64(float64(acc)))
	if s.Sign() == 0 {
		if math.Signbit(float64(x*w)) && math.Signbit(float64(acc)) {
			return float32(math.Copysign(0, -1))
		}
		return 0
	}
	r, _ := s.Float32()
	return r
}
