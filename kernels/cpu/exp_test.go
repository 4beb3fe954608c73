package cpu

import (
	"math"
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
	for oi, ops := range attnOpsList() {
		expRow, maxRow := ops.expRow, ops.maxRow
		for _, n := range []int{0, 1, 15, 16, 17, 100, 1000} {
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
					t.Fatalf("ops %d, n=%d: exp(%v) = %v, want %v", oi, n, arg, x[i], w)
				}
			}
			if math.Abs(sum-want) > 1e-6*want {
				t.Fatalf("n=%d: sum %v, want %v", n, sum, want)
			}
			wantMax := float32(math.Inf(-1))
			for _, v := range orig {
				wantMax = max(wantMax, v)
			}
			if mx := maxRow(orig); mx != wantMax {
				t.Fatalf("n=%d: maxRow = %v, want %v", n, mx, wantMax)
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
