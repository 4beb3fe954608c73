package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// tolAMX bounds matMulPackedAMX against the float64 product of the bf16
// activations it multiplies, relative to Σ|x̃·w|: fp32 accumulation of
// exact bf16 products as the panel kernels (tolPacked), in TDPBF16PS's
// order (measured 3.5e-8 at k = 2048, 2.2e-8 at k = 6144, see
// TestMatMulPackedAMXPrecision).
const tolAMX = tolPacked

var amxPacked = packedKernel{"amx/pairs", packPairs, matMulPackedAMX}

func skipNoAMX(t testing.TB) {
	t.Helper()
	if !hasAMX {
		t.Skip("no AMX-BF16 on this CPU/OS")
	}
}

// TestAMXConfig: the LDTILECFG layout (64 bytes: palette, start row, 14
// reserved, colsb[16] at 16, rows[16] at 48) and the shapes set gives a
// call.
func TestAMXConfig(t *testing.T) {
	var cfg amxConfig
	if s, c, r := unsafe.Sizeof(cfg), unsafe.Offsetof(cfg.colsb), unsafe.Offsetof(cfg.rows); s != 64 || c != 16 || r != 48 {
		t.Fatalf("amxConfig: size %d, colsb at %d, rows at %d; want 64, 16, 48", s, c, r)
	}
	for _, tc := range []struct {
		rows, cols [2]int
		R, C       int
		wantRows   [8]uint8
		wantColsb  [8]uint16
	}{
		{[2]int{16, 16}, [2]int{16, 16}, 2, 2, [8]uint8{16, 16, 16, 16, 16, 16, 16, 16}, [8]uint16{64, 64, 64, 64, 64, 64, 64, 64}},
		{[2]int{3, 0}, [2]int{16, 0}, 1, 1, [8]uint8{3, 0, 0, 0, 3, 0, 16, 0}, [8]uint16{64, 0, 0, 0, 64, 0, 64, 0}},
		{[2]int{16, 5}, [2]int{16, 7}, 2, 2, [8]uint8{16, 16, 5, 5, 16, 5, 16, 16}, [8]uint16{64, 28, 64, 28, 64, 64, 64, 28}},
		{[2]int{9, 0}, [2]int{16, 1}, 1, 2, [8]uint8{9, 9, 0, 0, 9, 0, 16, 16}, [8]uint16{64, 4, 0, 0, 64, 0, 64, 4}},
	} {
		cfg.set(tc.rows, tc.cols, tc.R, tc.C)
		if cfg.palette != 1 || [8]uint8(cfg.rows[:8]) != tc.wantRows || [8]uint16(cfg.colsb[:8]) != tc.wantColsb {
			t.Errorf("set(%v, %v, %d, %d): palette %d rows %v colsb %v; want 1 %v %v",
				tc.rows, tc.cols, tc.R, tc.C, cfg.palette, cfg.rows[:8], cfg.colsb[:8], tc.wantRows, tc.wantColsb)
		}
	}
}

// TestMatMulPackedAMX: m = 1..70 (one and two row blocks of 16, partial
// ones), ragged n, odd k, k pairs a multiple of 16 or not, against the
// float64 references of checkPacked (tolAMX on x̃, tolPackedX on x);
// nothing past out[m·n] is written.
func TestMatMulPackedAMX(t *testing.T) {
	skipNoAMX(t)
	for _, nk := range [][2]int{{1, 32}, {16, 31}, {17, 33}, {33, 64}, {50, 129}, {100, 63}, {5, 100}, {40, 1001}} {
		n, k := nk[0], nk[1]
		t.Run(fmt.Sprintf("n%d_k%d", n, k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
			w := randBF16(rng, n*k, 0.1)
			pw := packBF16(nil, w, n, k, packPairs)
			wAt := func(j, q int) float64 { return float64(math.Float32frombits(uint32(w[j*k+q]) << 16)) }
			for m := 1; m <= 70; m++ {
				x := randF32(rng, m*k, 2)
				out := make([]float32, m*n+3)
				out[m*n], out[m*n+1], out[m*n+2] = 7, 7, 7
				matMulPackedAMX(out[:m*n], x, pw, m)
				checkPacked(t, amxPacked, out[:m*n], x, wAt, m, n, k)
				if out[m*n] != 7 || out[m*n+1] != 7 || out[m*n+2] != 7 {
					t.Fatalf("m=%d: wrote past out[m*n]", m)
				}
			}
		})
	}
}

// TestMatMulPackedAMXDispatch: the panel path's MatMulPacked with AMX from
// m = 1 (amxMinRows = 1) on shapes AMX cannot take (k < 31: fewer than 16
// k pairs, incl. k = 1) and on ones it takes, against the references; and
// with AMX out of reach (amxMinRows past m) it is the AVX-512 panel, bit
// for bit.
func TestMatMulPackedAMXDispatch(t *testing.T) {
	skipNoAMX(t)
	defer func(v int) { amxMinRows = v }(amxMinRows)
	for _, sh := range []matShape{{1, 20, 1}, {9, 33, 1}, {20, 17, 17}, {40, 48, 30}, {3, 40, 40}, {18, 64, 2048}} {
		m, n, k := sh.m, sh.n, sh.k
		t.Run(fmt.Sprintf("m%d_n%d_k%d", m, n, k), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(m), uint64(k)))
			w := randBF16(rng, n*k, 0.1)
			x := randF32(rng, m*k, 1)
			pw := packBF16(nil, w, n, k, packPairs)
			wAt := func(j, q int) float64 { return float64(math.Float32frombits(uint32(w[j*k+q]) << 16)) }
			got, panel, off := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
			amxMinRows = 1
			avx512bf16panel.matMulPacked(got, x, pw, m)
			checkPacked(t, amxPacked, got, x, wAt, m, n, k)
			amxMinRows = m + 1
			avx512bf16panel.matMulPacked(off, x, pw, m)
			matMulPackedAVX512(panel, x, pw, m)
			for i := range panel {
				if math.Float32bits(off[i]) != math.Float32bits(panel[i]) {
					t.Fatalf("out[%d]: m < amxMinRows %v, AVX-512 panel %v", i, off[i], panel[i])
				}
			}
		})
	}
}

// TestMatMulPackedAMXThreads: 1 thread and many give the same bits.
func TestMatMulPackedAMXThreads(t *testing.T) {
	skipNoAMX(t)
	defer SetThreads(numThreads())
	for _, sh := range []matShape{{8, 200, 64}, {16, 300, 40}, {33, 97, 130}, {64, 1000, 256}, {70, 45, 1001}} {
		m, n, k := sh.m, sh.n, sh.k
		rng := rand.New(rand.NewPCG(uint64(m), uint64(n)))
		x, w := randF32(rng, m*k, 1), randBF16(rng, n*k, 0.1)
		pw := packBF16(nil, w, n, k, packPairs)
		SetThreads(1)
		ref := make([]float32, m*n)
		matMulPackedAMX(ref, x, pw, m)
		for _, th := range []int{2, 3, 7, 64} {
			SetThreads(th)
			got := make([]float32, m*n)
			matMulPackedAMX(got, x, pw, m)
			for i := range ref {
				if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("m=%d n=%d k=%d threads=%d: out[%d] = %v, single-thread %v", m, n, k, th, i, got[i], ref[i])
				}
			}
		}
	}
}

// TestMatMulPackedAMXPrecision measures AMX at model shapes (normal x,
// weights ~N(0, 0.02²); k = 2048 and 6144) against both references.
func TestMatMulPackedAMXPrecision(t *testing.T) {
	skipNoAMX(t)
	for _, sh := range []matShape{{32, 256, 2048}, {16, 64, 6144}} {
		m, n, k := sh.m, sh.n, sh.k
		rng := rand.New(rand.NewPCG(7, uint64(k)))
		x := make([]float32, m*k)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		w := make([]uint16, n*k)
		for i := range w {
			w[i] = bf16(float32(rng.NormFloat64() * 0.02))
		}
		wAt := func(j, p int) float64 { return float64(math.Float32frombits(uint32(w[j*k+p]) << 16)) }
		out := make([]float32, m*n)
		matMulPackedAMX(out, x, packBF16(nil, w, n, k, packPairs), m)
		e, eX := checkPacked(t, amxPacked, out, x, wAt, m, n, k)
		t.Logf("m=%d n=%d k=%d: max err/Σ|x̃·w| = %.2e (bound %.0e), max err/Σ|x·w| = %.2e", m, n, k, e, tolAMX, eX)
	}
}
