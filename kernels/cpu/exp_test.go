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
