package cpu

import (
	"fmt"
	"math"
)

// LayerNorm normalises each row (torch.nn.LayerNorm over the last dim):
//
//	out[r,:] = (x[r,:] - mean) / sqrt(var + eps) * w + b
//
// with the biased variance. x, out: [rows, dim]; w, b: [dim] (b may be nil);
// out may alias x. Mean and variance are accumulated in float64 (torch
// reduces in float32 with Welford; float64 is at least as accurate).
// Whisper, SigLIP and the Qwen2.5-VL patch merger use it.
func LayerNorm(out, x, w, b []float32, rows, dim int, eps float32) {
	if rows < 0 || dim <= 0 || len(x) < rows*dim || len(out) < rows*dim || len(w) < dim || (b != nil && len(b) < dim) {
		panic(fmt.Sprintf("cpu.LayerNorm: bad shapes rows=%d dim=%d len(out)=%d len(x)=%d len(w)=%d len(b)=%d",
			rows, dim, len(out), len(x), len(w), len(b)))
	}
	w = w[:dim]
	for r := 0; r < rows; r++ {
		xr := x[r*dim : r*dim+dim]
		or := out[r*dim : r*dim+dim]
		var s float64
		for _, v := range xr {
			s += float64(v)
		}
		mean := s / float64(dim)
		var ss float64
		for _, v := range xr {
			d := float64(v) - mean
			ss += d * d
		}
		scale := float32(1 / math.Sqrt(ss/float64(dim)+float64(eps)))
		m := float32(mean)
		if b == nil {
			for i, v := range xr {
				or[i] = (v - m) * scale * w[i]
			}
			continue
		}
		for i, v := range xr {
			or[i] = (v-m)*scale*w[i] + b[i]
		}
	}
}

// GELU applies the exact (erf) GELU in place: x = x/2 * (1 + erf(x/sqrt 2)),
// as torch.nn.functional.gelu with approximate="none" (Whisper "gelu",
// LLaVA projectors). x: [n], any flattening.
func GELU(x []float32) {
	for i, v := range x {
		x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
	}
}

// GELUTanh applies the tanh approximation of GELU in place
// (torch gelu(approximate="tanh"), SigLIP's "gelu_pytorch_tanh"). x: [n].
func GELUTanh(x []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, v := range x {
		f := float64(v)
		x[i] = float32(0.5 * f * (1 + math.Tanh(c*(f+0.044715*f*f*f))))
	}
}

// QuickGELU applies x * sigmoid(1.702 x) in place (CLIP's "quick_gelu",
// the Qwen2-VL vision MLP). x: [n].
func QuickGELU(x []float32) {
	for i, v := range x {
		x[i] = v / (1 + float32(math.Exp(-1.702*float64(v))))
	}
}
