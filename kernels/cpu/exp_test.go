package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpf checks expf against float64 math.Exp on a dense grid over the
// range softmax and SiLU use: max error 2 ulp of the correctly rounded result.
func TestExpf(t *testing.T) {
	var worst int64
	var at float32
	for x := float32(-87); x < 88.7; x += 0.00137 {
		want := float32(math.Exp(float64(x)))
		if u := ulps(expf(x), want); u > worst {
			worst, at = u, x
		}
	}
	t.Logf("expf: worst %d ulp at x=%v", worst, at)
	if worst > 2 {
		t.Errorf("expf: %d ulp at x=%v: got %v want %v", worst, at, expf(at), float32(math.Exp(float64(at))))
	}
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Inf(-1)), 0}, {-100, 0}, {89, float32(math.Inf(1))}, {float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := expf(tc.x); got != tc.want {
			t.Errorf("expf(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %v", got)
	}
}

// TestExpRow checks the vector exp (and its scalar tail) against float64
// exp(x·scale - bias): within 2 ulp plus the rounding of the float32
// argument (|arg|·2⁻²⁴ relative), 0 below -87.34, and the returned sum
// within 1e-6 relative.
func TestExpRow(t *testing.T) {
	inf := float32(math.Inf(-1))
	for _, ops := range attnOpsList() {
		expRow, maxRow := ops.expRow, ops.maxRow
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, 127, 128, 129, 255, 257, 1000} {
			x := make([]float32, n)
			for i := range x {
				x[i] = -float32(i%200)*0.47 + float32(i%7)*0.01 // 0 .. -93.5
			}
			if n > 20 {
				x[3], x[18] = inf, -1e30
			}
			orig := append([]float32(nil), x...)
			const scale, bias = 0.75, -0.5
			sum := expRow(x, scale, bias)
			var want float64
			for i, v := range orig {
				arg := float64(v)*scale - bias
				w := float32(math.Exp(arg))
				if arg < -87.33654 {
					w = 0
				}
				want += float64(w)
				tol := float64(w) * (math.Abs(arg)*0x1p-24 + 2.5e-7)
				if math.Abs(float64(x[i]-w)) > tol && !(arg < -87 && x[i] < 1e-37) {
					t.Fatalf("%s, n=%d: exp(%v) = %v, want %v", ops.name, n, arg, x[i], w)
				}
			}
			if math.Abs(sum-want) > 1e-6*want {
				t.Fatalf("%s, n=%d: sum %v, want %v", ops.name, n, sum, want)
			}
			wantMax := float32(math.Inf(-1))
			for _, v := range orig {
				wantMax = max(wantMax, v)
			}
			if mx := maxRow(orig); mx != wantMax {
				t.Fatalf("%s, n=%d: maxRow = %v, want %v", ops.name, n, mx, wantMax)
			}
		}
	}
	for _, ops := range attnOpsList() {
		maxRow := ops.maxRow
		if mx := maxRow(nil); !math.IsInf(float64(mx), -1) {
			t.Fatalf("maxRow(nil) = %v", mx)
		}
		x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, -1, 99}
		if mx := maxRow(x); mx != 99 {
			t.Fatalf("maxRow = %v, want 99", mx)
		}
	}
}

// TestExpRowGrid checks every expRow as TestExpf checks expf: the dense grid
// over [-87, 88.7], within 2 ulp of the correctly rounded result.
func TestExpRowGrid(t *testing.T) {
	var grid []float32
	for x := float32(-87); x < 88.7; x += 0.00137 {
		grid = append(grid, x)
	}
	for _, ops := range attnOpsList() {
		x := append([]float32(nil), grid...)
		ops.expRow(x, 1, 0)
		var worst int64
		var at float32
		for i, a := range grid {
			if u := ulps(x[i], float32(math.Exp(float64(a)))); u > worst {
				worst, at = u, a
			}
		}
		t.Logf("%s: worst %d ulp at x=%v", ops.name, worst, at)
		if worst > 2 {
			t.Errorf("%s: %d ulp at x=%v", ops.name, worst, at)
		}
	}
}

// TestExpRowEdges runs every expRow on arguments at the ends of its range,
// each in vector lanes and in the scalar tail (n = 37, every rotation):
// within 2 ulp of float64 exp and of expRowGeneric for results down to
// 2⁻¹²⁶ (t >= -87.33654), 0 below, and up to the clamp t = 88.72283 (SiLU's
// exp(-g) gets there; softmax and attention pass t <= 0).
func TestExpRowEdges(t *testing.T) {
	inf := float32(math.Inf(1))
	args := []float32{-inf, -1e30, -100, -87.34, -87.33655, -87.33654, -87.3365, -87.2, -87, -86.9, -50, -1e-7, 0,
		1e-7, 0.5, 0.6931472, 1, 10, 88, 88.37, 88.376, 88.38, 88.7, 88.72283}
	const n = 37
	for _, ops := range attnOpsList() {
		for rot := range args {
			x := make([]float32, n)
			for i := range x {
				x[i] = args[(i+rot)%len(args)]
			}
			gen := append([]float32(nil), x...)
			expRowGeneric(gen, 1, 0)
			orig := append([]float32(nil), x...)
			sum := ops.expRow(x, 1, 0)
			var want float64
			for i, a := range orig {
				w := float32(math.Exp(float64(a)))
				if a < -87.33654 {
					w = 0
				}
				want += float64(x[i])
				if ulps(x[i], w) > 2 || ulps(x[i], gen[i]) > 2 {
					t.Fatalf("%s rot %d: exp(%v) = %v (%#x), want %v (%#x), expRowGeneric %v", ops.name, rot, a, x[i], math.Float32bits(x[i]), w, math.Float32bits(w), gen[i])
				}
			}
			// The fp32 lane sums overflow past ~1e38 (fine for t <= 0).
			if want < 1e30 && math.Abs(sum-want) > 1e-6*want {
				t.Fatalf("%s rot %d: sum %v, want %v", ops.name, rot, sum, want)
			}
		}
	}
}

// TestExpRowMatchesGeneric: random rows of every length up to 300 (every
// 8- and 16-lane tail, chunk boundaries at 128 and 256) on every expRow
// and maxRow against expRowGeneric and maxRowGeneric: equal maxima, each
// exp within 2+2 ulp of generic's plus the roundings of x·scale and of the
// argument (which the vector paths fuse into one), sums within 1e-6.
func TestExpRowMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, ops := range attnOpsList()[1:] {
		for n := range 301 {
			x := randF32(rng, n, 30)
			gen := append([]float32(nil), x...)
			if mx, want := ops.maxRow(x), maxRowGeneric(x); mx != want {
				t.Fatalf("%s n=%d: maxRow %v, generic %v", ops.name, n, mx, want)
			}
			bias := maxRowGeneric(x) * 0.9
			orig := append([]float32(nil), x...)
			sum, want := ops.expRow(x, 0.9, bias), expRowGeneric(gen, 0.9, bias)
			for i := range x {
				arg := float64(orig[i])*0.9 - float64(bias)
				// Argument: generic rounds x·scale and the difference
				// (|x·scale|·2⁻²⁴ + |arg|·2⁻²⁴), a fused one once (|arg|·2⁻²⁴);
				// then 2 ulp for each exp.
				tol := float64(gen[i]) * ((math.Abs(float64(orig[i])*0.9)+2*math.Abs(arg))*0x1p-24 + 4.8e-7)
				if math.Abs(float64(x[i]-gen[i])) > tol && !(x[i] < 1e-37 && gen[i] < 1e-37) {
					t.Fatalf("%s n=%d: x[%d] = %v, generic %v (x %v bias %v arg %v)", ops.name, n, i, x[i], gen[i], orig[i], bias, arg)
				}
			}
			if math.Abs(sum-want) > 1e-6*want {
				t.Fatalf("%s n=%d: sum %v, generic %v", ops.name, n, sum, want)
			}
		}
	}
}
