package cpu

import (
	"math"
	"testing"
)

func TestLayerNorm(t *testing.T) {
	tests := []struct {
		name string
		x    []float32
		w, b []float32
		want []float32
	}{
		// mean 2.5, var 1.25: (x-2.5)/sqrt(1.25+1e-5)
		{"unit", []float32{1, 2, 3, 4}, []float32{1, 1, 1, 1}, nil, []float32{-1.3416355, -0.4472118, 0.4472118, 1.3416355}},
		{"affine", []float32{1, 2, 3, 4}, []float32{2, 2, 2, 2}, []float32{1, 0, 0, -1}, []float32{-1.683271, -0.8944236, 0.8944236, 1.683271}},
		{"constant row", []float32{5, 5, 5, 5}, []float32{1, 1, 1, 1}, []float32{0.5, 0.5, 0.5, 0.5}, []float32{0.5, 0.5, 0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make([]float32, len(tt.x))
			LayerNorm(out, tt.x, tt.w, tt.b, 1, len(tt.x), 1e-5)
			for i := range out {
				if math.Abs(float64(out[i]-tt.want[i])) > 1e-5 {
					t.Fatalf("out = %v, want %v", out, tt.want)
				}
			}
		})
	}
}

func TestGELUs(t *testing.T) {
	// Reference values: Python math.erf / math.tanh / math.exp in float64, rounded to 7 places.
	x := []float32{-3, -1, -0.5, 0, 0.5, 1, 3}
	tests := []struct {
		name string
		fn   func([]float32)
		want []float32
	}{
		{"erf", GELU, []float32{-0.0040497, -0.1586553, -0.1542688, 0, 0.3457312, 0.8413447, 2.9959503}},
		{"tanh", GELUTanh, []float32{-0.0036374, -0.1588080, -0.1542860, 0, 0.3457140, 0.8411920, 2.9963626}},
		{"quick", QuickGELU, []float32{-0.0180713, -0.1542042, -0.1496116, 0, 0.3503884, 0.8457958, 2.9819287}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := append([]float32(nil), x...)
			tt.fn(y)
			for i := range y {
				if math.Abs(float64(y[i]-tt.want[i])) > 2e-6 {
					t.Fatalf("%s(%v) = %v, want %v", tt.name, x[i], y[i], tt.want[i])
				}
			}
		})
	}
}
