package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// packedImpls lists the distinct MatMulPacked implementations this CPU
// runs: generic first, then the fast one if it differs.
func packedImpls() []*impl {
	l := []*impl{&generic}
	for _, p := range available()[1:] {
		if p.preferPacked {
			l = append(l, p)
		}
	}
	return l
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
	// Against the float64 product of the rounded activations: fp32
	// accumulation of exact products, k ≤ 2048 (measured 2.1e-7 at k = 2048).
	tolPacked = 1e-6
	// Against the float64 product of x itself: rounding x to bf16 (8
	// significant bits) costs up to 2⁻⁸ of each |x·w| term, plus the
	// accumulation.
	tolPackedX = 1.0/256 + tolPacked
)

var packedShapes = [][2]int{{1, 1}, {5, 3}, {16, 2}, {17, 33}, {33, 64}, {50, 129}, {100, 31}, {64, 7}}

// TestMatMulPacked: every m in 1..40 and ragged n, odd k, against float64
// references, on every MatMulPacked implementation.
func TestMatMulPacked(t *testing.T) {
	for _, p := range packedImpls() {
		for _, nk := range packedShapes {
			n, k := nk[0], nk[1]
			t.Run(fmt.Sprintf("%s/n%d_k%d", p.name, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
				w := randBF16(rng, n*k, 0.1)
				pw := PackBF16(w, n, k)
				wAt := func(j, q int) float64 { return float64(math.Float32frombits(uint32(w[j*k+q]) << 16)) }
				for m := 1; m <= 40; m++ {
					x := randF32(rng, m*k, 2)
					want, mag := refMatMul(roundedX(x), wAt, m, n, k)
					wantX, magX := refMatMul(x, wAt, m, n, k)
					out := make([]float32, m*n+3)
					out[m*n], out[m*n+1], out[m*n+2] = 7, 7, 7 // past the end: untouched
					p.matMulPacked(out[:m*n], x, pw, m)
					if e := maxRelErr(out[:m*n], want, mag); e > tolPacked {
						t.Errorf("m=%d: max err/Σ|x̃·w| %.3g > %.3g", m, e, tolPacked)
					}
					if e := maxRelErr(out[:m*n], wantX, magX); e > tolPackedX {
						t.Errorf("m=%d: max err/Σ|x·w| %.3g > %.3g", m, e, tolPackedX)
					}
					if out[m*n] != 7 || out[m*n+1] != 7 || out[m*n+2] != 7 {
						t.Fatalf("m=%d: wrote past out[m*n]", m)
					}
				}
			})
		}
	}
}

// TestMatMulPackedMatchesGeneric: the fast MatMulPacked against the
// generic one (same rounding: equal bits, or within 2 fp32 accumulation
// errors on a CPU whose VDPBF16PS adds differently) and against the exact
// generic MatMulBF16 on the unpacked weights (within the bf16 rounding of x).
func TestMatMulPackedMatchesGeneric(t *testing.T) {
	for _, p := range packedImpls() {
		for _, sh := range []matShape{{1, 96, 2048}, {4, 37, 1001}, {8, 64, 333}, {13, 50, 64}, {32, 20, 65}, {40, 33, 128}} {
			m, n, k := sh.m, sh.n, sh.k
			t.Run(fmt.Sprintf("%s/m%d_n%d_k%d", p.name, m, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(k), uint64(n)))
				x := randF32(rng, m*k, 1)
				w := randBF16(rng, n*k, 0.05)
				pw := PackBF16(w, n, k)
				got, gen, exact := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
				p.matMulPacked(got, x, pw, m)
				generic.matMulPacked(gen, x, pw, m)
				generic.matMulBF16(exact, x, w, m, n, k)
				mag := bf16Mag(roundedX(x), w, m, n, k)
				magX := bf16Mag(x, w, m, n, k)
				same := 0
				for i := range got {
					if got[i] == gen[i] {
						same++
					}
					if d := abs64(float64(got[i]) - float64(gen[i])); d > 2*tolPacked*mag[i]+1e-30 {
						t.Fatalf("out[%d]: %s %v, generic packed %v", i, p.name, got[i], gen[i])
					}
					if d := abs64(float64(got[i]) - float64(exact[i])); d > tolPackedX*magX[i]+1e-30 {
						t.Fatalf("out[%d]: %s %v, generic MatMulBF16 %v", i, p.name, got[i], exact[i])
					}
				}
				if p != &generic {
					t.Logf("bit-identical to generic packed: %d of %d", same, len(got))
				}
			})
		}
	}
}

// TestMatMulPackedThreads: 1 thread and many give the same bits.
func TestMatMulPackedThreads(t *testing.T) {
	defer SetThreads(numThreads())
	for _, p := range packedImpls() {
		for _, sh := range []matShape{{1, 200, 63}, {5, 77, 64}, {8, 1000, 31}, {33, 97, 130}} {
			m, n, k := sh.m, sh.n, sh.k
			rng := rand.New(rand.NewPCG(uint64(m), uint64(n)))
			x, w := randF32(rng, m*k, 1), randBF16(rng, n*k, 0.1)
			pw := PackBF16(w, n, k)
			SetThreads(1)
			ref := make([]float32, m*n)
			p.matMulPacked(ref, x, pw, m)
			for _, th := range []int{2, 3, 7, 64} {
				SetThreads(th)
				got := make([]float32, m*n)
				p.matMulPacked(got, x, pw, m)
				for i := range ref {
					if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%s m=%d n=%d k=%d threads=%d: out[%d] = %v, single-thread %v", p.name, m, n, k, th, i, got[i], ref[i])
					}
				}
			}
		}
	}
}

// TestPackBF16: the layout (zero padding past n and k) and Row.
func TestPackBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n, k = 37, 11
	w := randBF16(rng, n*k, 1)
	p := PackBF16(w, n, k)
	if p.Rows() != n || p.Cols() != k || p.Bytes() != 2*48*12 {
		t.Fatalf("Rows %d Cols %d Bytes %d", p.Rows(), p.Cols(), p.Bytes())
	}
	for s := range 3 {
		for q := range 6 {
			for l := range 16 {
				for e := range 2 {
					j, c := 16*s+l, 2*q+e
					var want uint16
					if j < n && c < k {
						want = w[j*k+c]
					}
					if got := p.data[((s*6+q)*16+l)*2+e]; got != want {
						t.Fatalf("data[s%d q%d l%d e%d] = %#x, want w[%d,%d] = %#x", s, q, l, e, got, j, c, want)
					}
				}
			}
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
	want, mag := refMatMul(roundedX(x), wAt, m, n, k)
	wantX, magX := refMatMul(x, wAt, m, n, k)
	pw := PackBF16(w, n, k)
	out := make([]float32, m*n)
	for _, p := range packedImpls() {
		p.matMulPacked(out, x, pw, m)
		e, eX := maxRelErr(out, want, mag), maxRelErr(out, wantX, magX)
		var absX float64
		for i, v := range wantX {
			absX = max(absX, math.Abs(float64(out[i])-v))
		}
		t.Logf("%-15s max err/Σ|x̃·w| = %.2e (x̃ = bf16(x)); max err/Σ|x·w| = %.2e, max abs err = %.2e vs x·w (|y| ~ %.2f)",
			p.name, e, eX, absX, math.Sqrt(float64(k))*0.02)
		if e > tolPacked || eX > tolPackedX {
			t.Errorf("%s: %.3g > %.3g or %.3g > %.3g", p.name, e, tolPacked, eX, tolPackedX)
		}
	}
}
