package cpu

import "fmt"

// SiLUMul computes the SwiGLU product in place: gate[i] = silu(gate[i]) * up[i],
// silu(g) = g / (1 + exp(-g)), in fp32 (exp: expf, ≤ 2 ulp).
// gate, up: [n] (any flattening of [rows, intermediate]).
func SiLUMul(gate, up []float32) {
	active.siluMul(gate, up[:len(gate)])
}

func siluMulGeneric(gate, up []float32) {
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

// siluMulRow is SiLUMul with exp(-g) from expRow, 256 at a time.
func siluMulRow(gate, up []float32, expRow func([]float32, float32, float32) float64) {
	up = up[:len(gate)]
	var e [256]float32
	for i := 0; i < len(gate); i += len(e) {
		g := gate[i:min(i+len(e), len(gate))]
		ex := e[:len(g)]
		copy(ex, g)
		expRow(ex, -1, 0) // exp(-g); 0 when g > 87.3 (silu(g) = g there)
		for j, gv := range g {
			gate[i+j] = gv / (1 + ex[j]) * up[i+j]
		}
	}
}
