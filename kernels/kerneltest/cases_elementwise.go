package kerneltest

import (
	"fmt"
	"slices"
)

// siluExtremes lead the "extremes" SiLUMul case: e^−g overflows fp32 below
// −88.7 and underflows above 87.3, where kernels take special paths.
var siluExtremes = []float32{-100, -89, -88, -87.5, -20, -1, 0, 1e-8, 1, 20, 87.5, 88, 89, 100}

// siluCases: lengths 1, 1000 and 4099 (ragged against every vector width),
// gate ~ N(0, 3²) around silu's bend, up ~ N(0, 1), and the extremes.
func siluCases() []testCase {
	type input struct {
		name     string
		gate, up []float32 // [n], [n]
	}
	var ins []input
	for _, n := range []int{1, 1000, 4099} {
		name := fmt.Sprintf("n=%d", n)
		r := newRand("SiLUMul", name)
		ins = append(ins, input{name, normals(r, n, 3), normals(r, n, 1)})
	}
	r := newRand("SiLUMul", "extremes")
	ins = append(ins, input{"extremes", slices.Clone(siluExtremes), normals(r, len(siluExtremes), 1)})
	var cs []testCase
	for _, in := range ins {
		cs = append(cs, floatCase{
			name: in.name, out: "gate", want: refSiLUMul(in.gate, in.up), tol: siluTol,
			run: func(b Backend) ([]float32, error) {
				got := slices.Clone(in.gate)
				return got, b.SiLUMul(got, slices.Clone(in.up))
			},
		}.testCase())
	}
	return cs
}

// addCases: the residual add, with src as large as dst and 1000× smaller
// (a late layer's update to a large residual stream).
func addCases() []testCase {
	var cs []testCase
	for _, s := range []struct {
		n        int
		srcScale float64
	}{{1, 1}, {1000, 1}, {4099, 1}, {4099, 1e-3}} {
		name := fmt.Sprintf("n=%d,src~%g", s.n, s.srcScale)
		r := newRand("Add", name)
		dst, src := normals(r, s.n, 1), normals(r, s.n, s.srcScale) // [n], [n]
		cs = append(cs, floatCase{
			name: name, out: "dst", want: refAddBias(dst, src, 1), tol: addTol,
			run: func(b Backend) ([]float32, error) {
				got := slices.Clone(dst)
				return got, b.Add(got, slices.Clone(src))
			},
		}.testCase())
	}
	return cs
}

// addBiasCases: one to seven rows of dims 1, 40 and 1000.
func addBiasCases() []testCase {
	var cs []testCase
	for _, s := range []struct{ rows, dim int }{{1, 1}, {3, 40}, {7, 1000}} {
		name := fmt.Sprintf("rows=%d,dim=%d", s.rows, s.dim)
		r := newRand("AddBias", name)
		x, bias := normals(r, s.rows*s.dim, 1), normals(r, s.dim, .1) // [rows, dim], [dim]
		cs = append(cs, floatCase{
			name: name, out: "x", want: refAddBias(x, bias, s.rows), tol: addTol,
			run: func(b Backend) ([]float32, error) {
				got := slices.Clone(x)
				return got, b.AddBias(got, slices.Clone(bias), s.rows)
			},
		}.testCase())
	}
	return cs
}

// embedSpecials are bf16 values every table holds somewhere: subnormals
// (which a widening must not flush), -0 and the largest finite values.
var embedSpecials = []uint16{0x0001, 0x8001, 0x007f, 0x8000, 0x7f7f, 0xff7f}

// embedCases: repeated and boundary ids (0, vocab-1), a 1×1 table, a row
// of 1027 and no ids at all.
func embedCases() []testCase {
	var cs []testCase
	for _, s := range []struct {
		name       string
		vocab, dim int
		ids        []int32
	}{
		{"vocab=1,dim=1", 1, 1, []int32{0, 0, 0}},
		{"vocab=100,dim=40", 100, 40, []int32{5, 5, 0, 99, 5, 42}},
		{"vocab=1000,dim=1027", 1000, 1027, []int32{3, 999, 3, 500, 0, 3, 999, 1}},
		{"no ids", 10, 8, nil},
	} {
		table := bf16Normals(newRand("Embed", s.name), s.vocab*s.dim, .02) // [vocab, dim]
		for i, v := range embedSpecials {
			table[(i*7919)%len(table)] = v
		}
		cs = append(cs, floatCase{
			name: s.name, out: "out", want: refEmbed(table, s.ids, s.dim), tol: embedTol,
			run: func(b Backend) ([]float32, error) {
				out := nans(len(s.ids) * s.dim)
				return out, b.Embed(out, slices.Clone(table), slices.Clone(s.ids), s.dim)
			},
		}.testCase())
	}
	return cs
}
