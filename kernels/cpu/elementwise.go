package cpu

import "fmt"

// SiLUMul computes the SwiGLU product in place: gate[i] = silu(gate[i]) * up[i],
// silu(g) = g / (1 + exp(-g)), in fp32 (exp: expf, ≤ 2 ulp).
// gate, up: [n] (any flattening of [rows, intermediate]).
func SiLUMul(gate, up []float32) {
	up = up[:len(gate)]
	for i, g := range gate {
		s := g / (1 + expf(-g))
		gate[i] = s * up[i]
	}
}

// Add accumulates dst[i] += src[i] (residual connection). len(src) >= len(dst).
func Add(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// AddBias adds a bias row to every row: x [rows, len(b)], x[r,:] += b.
func AddBias(x, b []float32, rows int) {
	d := len(b)
	if rows < 0 || len(x) < rows*d {
		panic(fmt.Sprintf("cpu.AddBias: len(x)=%d < rows=%d * len(b)=%d", len(x), rows, d))
	}
	for r := 0; r < rows; r++ {
		xr := x[r*d : r*d+d]
		for i, v := range b {
			xr[i] += v
		}
	}
}
