package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// int8Shapes are ragged shapes for the packed int8 tests: n around the
// 16-column strips, k around the 4-element quads (k = 1, odd, k%4 ≠ 0).
var int8Shapes = []struct{ n, k int }{
	{1, 1}, {15, 3}, {16, 4}, {17, 5}, {33, 7}, {40, 64}, {70, 130}, {100, 33},
}

// quantizedRef returns the float64 product of what MatMulPackedInt8
// multiplies: Σ_p x̂[i,p]·w[j,p] · sx[i] · scales[j] (x̂, sx from
// quantizeRows), out [m, n].
func quantizedRef(x []float32, w []int8, scales []float32, m, n, k int) []float64 {
	k4 := (k + 3) / 4
	qx := quantizeRows(x, m, k, k4)
	defer qx.free()
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s int64
			for p := range k {
				s += (int64(qx.u[i*4*k4+p]) - 128) * int64(w[j*k+p])
			}
			out[i*n+j] = float64(s) * float64(qx.scale[i]) * float64(scales[j])
		}
	}
	return out
}

// tolQuantRef bounds |out − quantizedRef| / |quantizedRef|: the int32 sum
// is exact, then three fp32 roundings (to fp32, ·sx, ·scale).
const tolQuantRef = 3.0001 / (1 << 24)

// TestMatMulPackedInt8Reference checks the generic twin against the
// float64 product of the quantized activations, m = 1..9 and 33 on ragged
// shapes.
func TestMatMulPackedInt8Reference(t *testing.T) {
	for _, sh := range int8Shapes {
		for _, m := range []int{1, 2, 3, 4, 5, 7, 8, 9, 33} {
			n, k := sh.n, sh.k
			rng := rand.New(rand.NewPCG(uint64(n), uint64(k*64+m)))
			x, w, sc := randF32(rng, m*k, 2), randI8(rng, n*k), randF32(rng, n, 0.01)
			want := quantizedRef(x, w, sc, m, n, k)
			got := make([]float32, m*n)
			matMulPackedInt8Generic(got, x, PackInt8(w, sc, n, k), m)
			for i, v := range want {
				if d := math.Abs(float64(got[i]) - v); d > tolQuantRef*math.Abs(v) {
					t.Fatalf("m%d_n%d_k%d: out[%d] = %v, quantized ref %v (rel err %.2e)", m, n, k, i, got[i], v, d/math.Abs(v))
				}
			}
		}
	}
}

// TestMatMulPackedInt8Precision measures MatMulPackedInt8 at a model shape
// (k = 2048, normal x, weights ~N(0, 0.02²) quantized per row) against the
// fp32 product of the unquantized activations (what MatMulInt8 computes),
// and checks every output against the bound of its doc: rounding x̂ costs
// at most sx/2 per activation.
func TestMatMulPackedInt8Precision(t *testing.T) {
	const m, n, k = 4, 256, 2048
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, m*k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	wf := make([]float32, n*k)
	for i := range wf {
		wf[i] = float32(rng.NormFloat64() * 0.02)
	}
	w, sc := quantizeWeights(wf, n, k)
	wAt := func(j, p int) float64 { return float64(w[j*k+p]) * float64(sc[j]) }
	want, mag := refMatMul(x, wAt, m, n, k)
	out := make([]float32, m*n)
	MatMulPackedInt8(out, x, PackInt8(w, sc, n, k), m)
	var worst, absMax, rms float64
	for i := range m {
		var amax float64
		for _, v := range x[i*k : (i+1)*k] {
			amax = max(amax, math.Abs(float64(v)))
		}
		for j := range n {
			var sw float64
			for p := range k {
				sw += math.Abs(wAt(j, p))
			}
			o := i*n + j
			d := math.Abs(float64(out[o]) - want[o])
			if bound := amax/254*sw*(1+1e-6) + 1e-6*math.Abs(want[o]); d > bound {
				t.Fatalf("out[%d,%d] = %v, fp32 product %v: err %.3g > bound %.3g", i, j, out[o], want[o], d, bound)
			}
			worst, absMax, rms = max(worst, d/mag[o]), max(absMax, d), rms+want[o]*want[o]
		}
	}
	rms = math.Sqrt(rms / (m * n))
	t.Logf("%s: max err/Σ|x·w| = %.2e, max abs err = %.2e = %.2e of rms |y| %.3f", Path(), worst, absMax, absMax/rms, rms)
}

// quantizeWeights quantizes wf [n, k] per row as model.Matrix.ToInt8 does
// (scale = max|w|/127, round half away from zero).
func quantizeWeights(wf []float32, n, k int) ([]int8, []float32) {
	w, sc := make([]int8, n*k), make([]float32, n)
	for j := range n {
		var amax float32
		for _, v := range wf[j*k : (j+1)*k] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		sc[j] = amax / 127
		for p, v := range wf[j*k : (j+1)*k] {
			w[j*k+p] = int8(math.Round(float64(v / sc[j])))
		}
	}
	return w, sc
}

// TestQuantizeRow pins the activation quantizer: scale max|x|/127, round
// to nearest with ties to even, every value within half a step.
func TestQuantizeRow(t *testing.T) {
	for _, c := range []struct {
		name  string
		x     []float32
		scale float32
		want  []int
	}{
		{"ties to even", []float32{127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5}, 1, []int{127, 0, 2, 2, 0, -2, -2, 126}},
		{"negative max", []float32{1, -254, 3, 253}, 2, []int{0, -127, 2, 126}},
		{"zero row", []float32{0, float32(math.Copysign(0, -1)), 0}, 0, []int{0, 0, 0}},
		{"tiny", []float32{-1e-30, 0.25e-30}, 1e-30 / 127, []int{-127, 32}},
		{"subnormal", []float32{1e-40, -2e-40}, float32(2e-40) / 127, []int{63, -127}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dst := make([]uint8, len(c.x))
			if s := quantizeRow(dst, c.x); s != c.scale {
				t.Errorf("scale = %v, want %v", s, c.scale)
			}
			for p, want := range c.want {
				if got := int(dst[p]) - 128; got != want {
					t.Errorf("x̂[%d] = %d (x = %v), want %d", p, got, c.x[p], want)
				}
			}
		})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		x := randF32(rng, 1+rng.IntN(300), float32(math.Exp(rng.NormFloat64()*5)))
		dst := make([]uint8, len(x))
		s := quantizeRow(dst, x)
		top := 0
		for p, v := range x {
			q := int(dst[p]) - 128
			top = max(top, q, -q)
			if d := math.Abs(float64(q)*float64(s) - float64(v)); d > float64(s)*(0.5+1e-5) {
				t.Fatalf("x = %v: x̂ = %d, scale %v: off by %.3g steps", v, q, s, d/float64(s))
			}
		}
		if top != 127 {
			t.Fatalf("max |x̂| = %d, want 127", top)
		}
	}
}

// TestPackInt8 checks the packed layout, the compensation and scales, Row
// and Bytes on ragged shapes.
func TestPackInt8(t *testing.T) {
	for _, sh := range int8Shapes {
		n, k := sh.n, sh.k
		t.Run(fmt.Sprintf("n%d_k%d", n, k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
			w, sc := randI8(rng, n*k), randF32(rng, n, 0.01)
			p := PackInt8(w, sc, n, k)
			n16, k4 := (n+15)/16, (k+3)/4
			if len(p.data) != n16*k4*64 || len(p.comp) != 16*n16 || len(p.scale) != 16*n16 {
				t.Fatalf("sizes data %d comp %d scale %d", len(p.data), len(p.comp), len(p.scale))
			}
			for s := range n16 {
				for q := range k4 {
					for l := range 16 {
						for e := range 4 {
							j, c := 16*s+l, 4*q+e
							var want int8
							if j < n && c < k {
								want = w[j*k+c]
							}
							if got := p.data[((s*k4+q)*16+l)*4+e]; got != want {
								t.Fatalf("data[s%d q%d l%d e%d] = %d, want w[%d,%d] = %d", s, q, l, e, got, j, c, want)
							}
						}
					}
				}
			}
			row := make([]float32, k)
			for j := range 16 * n16 {
				var sum int32
				var s float32
				if j < n {
					s = sc[j]
					for c := range k {
						sum += int32(w[j*k+c])
					}
				}
				if p.comp[j] != -128*sum || p.scale[j] != s {
					t.Fatalf("column %d: comp %d scale %v, want %d %v", j, p.comp[j], p.scale[j], -128*sum, s)
				}
				if j < n {
					p.Row(j, row)
					for c, v := range row {
						if want := float32(w[j*k+c]) * sc[j]; v != want {
							t.Fatalf("Row(%d)[%d] = %v, want %v", j, c, v, want)
						}
					}
				}
			}
			if p.Rows() != n || p.Cols() != k || p.Bytes() != int64(n16*k4*64+128*n16) {
				t.Errorf("Rows %d Cols %d Bytes %d", p.Rows(), p.Cols(), p.Bytes())
			}
		})
	}
}

// TestMatMulPackedInt8Threads: the result does not depend on the thread
// count (generic twin and, where the CPU has it, the VNNI kernels).
func TestMatMulPackedInt8Threads(t *testing.T) {
	defer SetThreads(numThreads())
	const m, n, k = 9, 300, 70
	rng := rand.New(rand.NewPCG(5, 5))
	x, w, sc := randF32(rng, m*k, 1), randI8(rng, n*k), randF32(rng, n, 0.01)
	pw := PackInt8(w, sc, n, k)
	kerns := map[string]func(out, x []float32, pw *PackedInt8, m int){"generic": matMulPackedInt8Generic}
	if vnniActive() {
		kerns["vnni"] = matMulPackedInt8VNNI
	}
	for name, fn := range kerns {
		var ref []float32
		for _, th := range []int{1, 2, 3, 7} {
			SetThreads(th)
			got := make([]float32, m*n)
			fn(got, x, pw, m)
			if ref == nil {
				ref = got
				continue
			}
			for i := range ref {
				if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("%s: %d threads: out[%d] = %v, 1 thread %v", name, th, i, got[i], ref[i])
				}
			}
		}
	}
}

// TestMatMulPackedInt8Edges: m = 0, k = 0 and an all-zero activation row.
func TestMatMulPackedInt8Edges(t *testing.T) {
	w, sc := []int8{1, -2, 3, 4, 5, 6}, []float32{0.5, 0.25}
	pw := PackInt8(w, sc, 2, 3)
	MatMulPackedInt8(nil, nil, pw, 0)
	out := []float32{9, 9, 9, 9}
	MatMulPackedInt8(out, []float32{0, 0, 0, 127, 0, 0}, pw, 2)
	if want := []float32{0, 0, 63.5, 127}; fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("out = %v, want %v", out, want)
	}
	out = []float32{9, 9}
	MatMulPackedInt8(out, nil, PackInt8(nil, sc, 2, 0), 1)
	if out[0] != 0 || out[1] != 0 {
		t.Errorf("k = 0: out = %v, want zeros", out)
	}
}
