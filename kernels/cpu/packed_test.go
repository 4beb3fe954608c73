package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// packedKernel is one MatMulPacked implementation on one layout.
type packedKernel struct {
	name   string
	layout packLayout
	fn     func(out, x []float32, pw *PackedBF16, m int)
}

// exact reports whether the layout's MatMulPacked keeps fp32 activations.
func (pk packedKernel) exact() bool { return pk.layout == packCols }

// pack packs w [n, k] in the kernel's layout.
func (pk packedKernel) pack(w []uint16, n, k int) *PackedBF16 {
	return packBF16(nil, w, n, k, pk.layout)
}

// packedKernels lists the MatMulPacked implementations this CPU runs: the
// generic one on both layouts, then per layout the first fast path that
// packs it (packCols: avx2; packPairs: avx512bf16panel), so both layouts
// are tested on every machine, and their kernels wherever the CPU has them.
func packedKernels() []packedKernel {
	l := []packedKernel{{"generic/pairs", packPairs, matMulPackedGeneric}, {"generic/cols", packCols, matMulPackedGeneric}}
	for _, layout := range []packLayout{packPairs, packCols} {
		for _, p := range available()[1:] {
			if p.pack == layout && (layout == packCols || p.preferPacked) {
				l = append(l, packedKernel{p.name + "/" + layoutName[layout], layout, p.matMulPacked})
				break
			}
		}
	}
	return l
}

var layoutName = map[packLayout]string{packPairs: "pairs", packCols: "cols"}

// genericPacked is the generic kernel on pk's layout.
func genericPacked(pk packedKernel) packedKernel {
	return packedKernel{"generic/" + layoutName[pk.layout], pk.layout, matMulPackedGeneric}
}

// roundedX returns bf16(x) widened back to fp32 (what MatMulPacked multiplies).
func roundedX(x []float32) []float32 {
	r := make([]float32, len(x))
	for i, v := range x {
		r[i] = math.Float32frombits(uint32(bf16(v)) << 16)
	}
	return r
}

// Tolerances of MatMulPacked, relative to Σ|x̃·w| (x̃ = bf16(x)) or Σ|x·w|.
const (
	// Against the float64 product of the activations it multiplies (x̃ for
	// pairs, x itself for cols): fp32 accumulation of exact products, k ≤
	// 2048 (measured 2.1e-7 at k = 2048). The bound of the exact avx2
	// MatMulBF16 (TestMatMulBF16Precision).
	tolPacked = 1e-6
	// pairs against the float64 product of x itself: rounding x to bf16 (8
	// significant bits) costs up to 2⁻⁸ of each |x·w| term, plus the
	// accumulation.
	tolPackedX = 1.0/256 + tolPacked
)

// checkPacked checks out [m, n] of kernel pk on x [m, k] against float64
// references: the product of what it multiplies (tolPacked) and, for
// pairs, the product of x itself (tolPackedX). It returns both errors.
func checkPacked(t *testing.T, pk packedKernel, out, x []float32, wAt func(j, p int) float64, m, n, k int) (e, eX float64) {
	t.Helper()
	wantX, magX := refMatMul(x, wAt, m, n, k)
	eX = maxRelErr(out, wantX, magX)
	if pk.exact() {
		if eX > tolPacked {
			t.Errorf("%s m=%d: max err/Σ|x·w| %.3g > %.3g", pk.name, m, eX, tolPacked)
		}
		return eX, eX
	}
	want, mag := refMatMul(roundedX(x), wAt, m, n, k)
	e = maxRelErr(out, want, mag)
	if e > tolPacked {
		t.Errorf("%s m=%d: max err/Σ|x̃·w| %.3g > %.3g", pk.name, m, e, tolPacked)
	}
	if eX > tolPackedX {
		t.Errorf("%s m=%d: max err/Σ|x·w| %.3g > %.3g", pk.name, m, eX, tolPackedX)
	}
	return e, eX
}

var packedShapes = [][2]int{{1, 1}, {5, 3}, {16, 2}, {17, 33}, {33, 64}, {50, 129}, {100, 31}, {64, 7}}

// TestMatMulPacked: every m in 1..40 and ragged n, odd k, against float64
// references, on every MatMulPacked implementation and layout.
func TestMatMulPacked(t *testing.T) {
	for _, pk := range packedKernels() {
		for _, nk := range packedShapes {
			n, k := nk[0], nk[1]
			t.Run(fmt.Sprintf("%s/n%d_k%d", pk.name, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
				w := randBF16(rng, n*k, 0.1)
				pw := pk.pack(w, n, k)
				wAt := func(j, q int) float64 { return float64(math.Float32frombits(uint32(w[j*k+q]) << 16)) }
				for m := 1; m <= 40; m++ {
					x := randF32(rng, m*k, 2)
					out := make([]float32, m*n+3)
					out[m*n], out[m*n+1], out[m*n+2] = 7, 7, 7 // past the end: untouched
					pk.fn(out[:m*n], x, pw, m)
					checkPacked(t, pk, out[:m*n], x, wAt, m, n, k)
					if out[m*n] != 7 || out[m*n+1] != 7 || out[m*n+2] != 7 {
						t.Fatalf("m=%d: wrote past out[m*n]", m)
					}
				}
			})
		}
	}
}

// TestMatMulPackedMatchesGeneric: each MatMulPacked against the generic one
// on the same layout (cols: equal bits; pairs: equal bits, or within 2 fp32
// accumulation errors on a CPU whose VDPBF16PS adds differently) and
// against the exact generic MatMulBF16 on the unpacked weights (cols:
// within 2 fp32 accumulation errors; pairs: within the bf16 rounding of x).
func TestMatMulPackedMatchesGeneric(t *testing.T) {
	for _, pk := range packedKernels() {
		for _, sh := range []matShape{{1, 96, 2048}, {2, 50, 100}, {4, 37, 1001}, {6, 40, 17}, {8, 64, 333}, {13, 50, 64}, {32, 20, 65}, {40, 33, 128}} {
			m, n, k := sh.m, sh.n, sh.k
			t.Run(fmt.Sprintf("%s/m%d_n%d_k%d", pk.name, m, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(k), uint64(n)))
				x := randF32(rng, m*k, 1)
				w := randBF16(rng, n*k, 0.05)
				pw := pk.pack(w, n, k)
				got, gen, exact := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
				pk.fn(got, x, pw, m)
				matMulPackedGeneric(gen, x, pw, m)
				generic.matMulBF16(exact, x, w, m, n, k)
				mag, magX := bf16Mag(x, w, m, n, k), bf16Mag(x, w, m, n, k)
				tolX := 2 * tolPacked
				if !pk.exact() {
					mag, tolX = bf16Mag(roundedX(x), w, m, n, k), tolPackedX
				}
				same := 0
				for i := range got {
					if got[i] == gen[i] {
						same++
					} else if pk.exact() {
						t.Fatalf("out[%d]: %s %v, generic %v (bits %#x, %#x)", i, pk.name, got[i], gen[i], math.Float32bits(got[i]), math.Float32bits(gen[i]))
					}
					if d := abs64(float64(got[i]) - float64(gen[i])); d > 2*tolPacked*mag[i]+1e-30 {
						t.Fatalf("out[%d]: %s %v, generic packed %v", i, pk.name, got[i], gen[i])
					}
					if d := abs64(float64(got[i]) - float64(exact[i])); d > tolX*magX[i]+1e-30 {
						t.Fatalf("out[%d]: %s %v, generic MatMulBF16 %v", i, pk.name, got[i], exact[i])
					}
				}
				t.Logf("bit-identical to generic packed: %d of %d", same, len(got))
			})
		}
	}
}

// TestMatMulPackedThreads: 1 thread and many give the same bits.
func TestMatMulPackedThreads(t *testing.T) {
	defer SetThreads(numThreads())
	for _, pk := range packedKernels() {
		for _, sh := range []matShape{{1, 200, 63}, {2, 300, 40}, {5, 77, 64}, {8, 1000, 31}, {33, 97, 130}} {
			m, n, k := sh.m, sh.n, sh.k
			rng := rand.New(rand.NewPCG(uint64(m), uint64(n)))
			x, w := randF32(rng, m*k, 1), randBF16(rng, n*k, 0.1)
			pw := pk.pack(w, n, k)
			SetThreads(1)
			ref := make([]float32, m*n)
			pk.fn(ref, x, pw, m)
			for _, th := range []int{2, 3, 7, 64} {
				SetThreads(th)
				got := make([]float32, m*n)
				pk.fn(got, x, pw, m)
				for i := range ref {
					if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%s m=%d n=%d k=%d threads=%d: out[%d] = %v, single-thread %v", pk.name, m, n, k, th, i, got[i], ref[i])
					}
				}
			}
		}
	}
}

// TestPackBF16: each layout's data (zero padding past n and k), Bytes and
// Row; PackBF16 makes the active path's layout.
func TestPackBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n, k = 37, 11
	w := randBF16(rng, n*k, 1)
	at := func(j, c int) uint16 {
		if j < n && c < k {
			return w[j*k+c]
		}
		return 0
	}
	for _, c := range []struct {
		layout packLayout
		bytes  int64
		// idx is where w[16s+l, c] sits in data (s strip, l column in it)
		idx  func(s, l, c int) int
		kLen int // k steps stored per strip
	}{
		{packPairs, 2 * 48 * 12, func(s, l, c int) int { return ((s*6+c/2)*16+l)*2 + c%2 }, 12},
		{packCols, 2 * 48 * 11, func(s, l, c int) int { return (s*11+c)*16 + colSlot(l) }, 11},
	} {
		t.Run(layoutName[c.layout], func(t *testing.T) {
			p := packBF16(nil, w, n, k, c.layout)
			if p.Rows() != n || p.Cols() != k || p.Bytes() != c.bytes {
				t.Fatalf("Rows %d Cols %d Bytes %d", p.Rows(), p.Cols(), p.Bytes())
			}
			seen := make([]bool, len(p.data))
			for s := range 3 {
				for l := range 16 {
					for q := range c.kLen {
						i := c.idx(s, l, q)
						seen[i] = true
						if want := at(16*s+l, q); p.data[i] != want {
							t.Fatalf("data[%d] (s%d l%d k%d) = %#x, want %#x", i, s, l, q, p.data[i], want)
						}
					}
				}
			}
			for i, ok := range seen {
				if !ok {
					t.Fatalf("data[%d] is no element of w", i)
				}
			}
			row, want := make([]float32, k), make([]float32, k)
			for j := range n {
				p.Row(j, row)
				BF16ToF32(want, w[j*k:(j+1)*k])
				for c := range row {
					if row[c] != want[c] {
						t.Fatalf("Row(%d)[%d] = %v, want %v", j, c, row[c], want[c])
					}
				}
			}
		})
	}
	if p := PackBF16(w, n, k); p.layout != active.pack {
		t.Errorf("PackBF16 on %s: layout %s, want %s", active.name, layoutName[p.layout], layoutName[active.pack])
	}
}

// TestColSlot: colSlot is a permutation of 0..15 and its own inverse.
func TestColSlot(t *testing.T) {
	var seen [16]bool
	for l := range 16 {
		s := colSlot(l)
		if seen[s] || colSlot(s) != l {
			t.Fatalf("colSlot(%d) = %d, colSlot of that %d", l, s, colSlot(s))
		}
		seen[s] = true
	}
}

// TestMatMulPackedPrecision measures MatMulPacked at a model shape (k =
// 2048, normal x, weights ~N(0, 0.02²)) and checks the bounds of its doc.
func TestMatMulPackedPrecision(t *testing.T) {
	const m, n, k = 4, 256, 2048
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, m*k)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	w := make([]uint16, n*k)
	for i := range w {
		w[i] = bf16(float32(rng.NormFloat64() * 0.02))
	}
	wAt := func(j, p int) float64 { return float64(math.Float32frombits(uint32(w[j*k+p]) << 16)) }
	wantX, _ := refMatMul(x, wAt, m, n, k)
	out := make([]float32, m*n)
	for _, pk := range packedKernels() {
		pk.fn(out, x, pk.pack(w, n, k), m)
		e, eX := checkPacked(t, pk, out, x, wAt, m, n, k)
		var absX float64
		for i, v := range wantX {
			absX = max(absX, math.Abs(float64(out[i])-v))
		}
		t.Logf("%-21s max err/Σ|x̃·w| = %.2e (x̃ = what it multiplies); max err/Σ|x·w| = %.2e, max abs err = %.2e vs x·w (|y| ~ %.2f)",
			pk.name, e, eX, absX, math.Sqrt(float64(k))*0.02)
	}
}

// TestPackBF16From: packing rows block by block from a fill callback gives
// the bits of packing the whole matrix at once.
func TestPackBF16From(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, nk := range [][2]int{{1, 1}, {17, 7}, {1024, 4}, {2100, 10}, {3000, 33}} {
		n, k := nk[0], nk[1]
		w := make([]uint16, n*k)
		for i := range w {
			w[i] = uint16(rng.Uint32())
		}
		want := PackBF16(w, n, k)
		got := PackBF16From(nil, n, k, func(r0, r1 int, dst []uint16) {
			if len(dst) != (r1-r0)*k {
				t.Fatalf("fill(%d, %d) got %d values", r0, r1, len(dst))
			}
			copy(dst, w[r0*k:r1*k])
		})
		if !slices.Equal(got.data, want.data) || got.n != n || got.k != k {
			t.Fatalf("n=%d k=%d: PackBF16From differs from PackBF16", n, k)
		}
	}
}
