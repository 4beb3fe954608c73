package kerneltest

import (
	"fmt"
	"slices"
)

// matmulCases: m = 1 (decode), 4 and 8 (a diffusion block), 33 (prefill,
// past every 4/8/16-row tile), with n and k ragged against 16-wide tiles
// and k up to 2048 (fp32 accumulation over long rows). x ~ N(0, 1), w ~
// N(0, 0.05²) as trained linears.
func matmulCases() []testCase {
	var cs []testCase
	for _, s := range []struct{ m, n, k int }{
		{1, 1, 1}, {1, 17, 2048}, {1, 256, 40},
		{4, 1, 40}, {4, 256, 2048},
		{8, 17, 40}, {8, 256, 1},
		{33, 1, 1}, {33, 17, 2048}, {33, 256, 40},
	} {
		name := fmt.Sprintf("m=%d,n=%d,k=%d", s.m, s.n, s.k)
		r := newRand("MatMulBF16", name)
		x := normals(r, s.m*s.k, 1)       // [m, k]
		w := bf16Normals(r, s.n*s.k, .05) // [n, k]
		want, scale := refMatMul(x, w, s.m, s.n, s.k)
		cs = append(cs, floatCase{
			name: name, out: "out", want: want, scale: scale, tol: matmulTol(s.k),
			run: func(b Backend) ([]float32, error) {
				out := nans(s.m * s.n)
				return out, b.MatMulBF16(out, slices.Clone(x), slices.Clone(w), s.m, s.n, s.k)
			},
		}.testCase())
	}
	return cs
}

// rmsnormCases: dims from 1 to past 1024 (ragged against any vector
// width), eps 1e-6 and 1e-5, and inputs tiny enough (1e-4) for eps to
// matter or large (1e3). w ~ 1 + N(0, 0.1²).
func rmsnormCases() []testCase {
	var cs []testCase
	for _, s := range []struct {
		rows, dim int
		eps       float32
		xScale    float64
	}{
		{1, 1, 1e-6, 1}, {3, 40, 1e-6, 1}, {5, 128, 1e-5, 1}, {4, 1027, 1e-6, 1},
		{2, 128, 1e-6, 1e-4}, {2, 1000, 1e-6, 1e3},
	} {
		name := fmt.Sprintf("rows=%d,dim=%d,eps=%g,x~%g", s.rows, s.dim, s.eps, s.xScale)
		r := newRand("RMSNorm", name)
		x := normals(r, s.rows*s.dim, s.xScale) // [rows, dim]
		w := normals(r, s.dim, .1)              // [dim]
		for i := range w {
			w[i]++
		}
		cs = append(cs, floatCase{
			name: name, out: "out", want: refRMSNorm(x, w, s.rows, s.dim, s.eps), tol: rmsnormTol,
			run: func(b Backend) ([]float32, error) {
				out := nans(len(x))
				return out, b.RMSNorm(out, slices.Clone(x), slices.Clone(w), s.rows, s.dim, s.eps)
			},
		}.testCase())
	}
	return cs
}

// ropeNear are the rows of most RoPE cases; ropeFar, of the long-context
// case, reach 40000, where float32(pos)·invFreq rounds by up to 2e-3 rad.
// (Positions past 4096 are kept to one case, of head size 64: the CPU
// backend's cos/sin table covers every position up to the largest, and
// takes a second to build under -race at head size 128.)
var (
	ropeNear = []int{0, 1, 17, 1000, 2047, 4095}
	ropeFar  = []int{0, 1, 17, 1000, 4095, 32768, 39999, 40000}
)

// ropeCases: the head sizes of Qwen2/Qwen3 and SDAR (40, 64, 80, 128)
// with rope_theta 1e4 and 1e6; x [rows, heads, headDim] ~ N(0, 1).
func ropeCases() []testCase {
	var cs []testCase
	for _, s := range []struct {
		headDim, heads int
		theta          float64
		pos            []int // [rows]
	}{
		{40, 2, 1e4, ropeNear}, {64, 4, 1e6, ropeFar}, {80, 3, 1e6, ropeNear},
		{128, 1, 1e4, ropeNear}, {128, 4, 1e6, ropeNear},
	} {
		rows := len(s.pos)
		name := fmt.Sprintf("headDim=%d,heads=%d,theta=%g,maxpos=%d", s.headDim, s.heads, s.theta, s.pos[rows-1])
		x := normals(newRand("RoPE", name), rows*s.heads*s.headDim, 1)
		want, scale := refRoPE(x, rows, s.heads, s.headDim, s.pos, s.theta)
		cs = append(cs, floatCase{
			name: name, out: "x", want: want, scale: scale, tol: ropeTol,
			run: func(b Backend) ([]float32, error) {
				got := slices.Clone(x)
				return got, b.RoPE(got, rows, s.heads, s.headDim, slices.Clone(s.pos), s.theta)
			},
		}.testCase())
	}
	return cs
}
