package cpu

import (
	"os"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run amx_gen_amd64.go

// AMX tiles (Intel Advanced Matrix Extensions, TDPBF16PS) for MatMulPacked
// on pairs-packed weights. One strip of a PackedBF16, [k2][16][2] bf16, is
// already a column of B tiles: 16 k pairs × 16 columns × 2 = 16 rows of 64
// bytes (stride 64). The bf16 activation rows (amxPairs: bf16Pairs' rows
// at a stride of ldx ≥ 4·k2 bytes) give the A tiles: 16 rows × 32 bf16. A
// kernel amx{R}x{C}
// (amx_amd64.s, from amx_gen_amd64.go) keeps R×C accumulators of 16×16
// fp32 (R row blocks of 16 rows, C strips; R, C ≤ 2: 4 C + 2 A + 2 B = the
// 8 tiles) over all k pairs a multiple of 16 and stores them to out; the
// tile shapes (rows past m, columns past n) come from the per-call
// amxConfig. The k2 % 16 last pairs go through the AVX-512 panel kernels,
// accumulating onto out.
//
// The tile configuration is per thread: each kernel call loads it, computes
// and releases the tiles (TILERELEASE) before returning, and Go never
// preempts a goroutine inside an assembly function, so no tile state lives
// across calls or migrates between threads.

// amxConfig is the 64-byte tile configuration LDTILECFG loads (palette 1):
// per tile t, rows[t] rows of colsb[t] bytes (0: tile unused).
type amxConfig struct {
	palette  uint8
	startRow uint8
	_        [14]uint8
	colsb    [16]uint16
	rows     [16]uint8
}

type amxKernel func(cfg *amxConfig, out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nkb int)

//go:noescape
func amx1x1(cfg *amxConfig, out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nkb int)

//go:noescape
func amx1x2(cfg *amxConfig, out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nkb int)

//go:noescape
func amx2x1(cfg *amxConfig, out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nkb int)

//go:noescape
func amx2x2(cfg *amxConfig, out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nkb int)

// amxKernels[R-1][C-1] is amx{R}x{C}.
var amxKernels = [2][2]amxKernel{{amx1x1, amx1x2}, {amx2x1, amx2x2}}

// xgetbv0 returns XCR0 (the state components the OS manages).
func xgetbv0() (eax, edx uint32)

// hasAMX: the CPU has AMX-TILE and AMX-BF16 (CPUID.7.0:EDX bits 24, 22),
// the OS enables the tile state in XCR0 (bits 17 TILECFG, 18 TILEDATA)
// and grants it to this process (amxPermit). The tail of k (k/2 % 16
// pairs) and k < 31 use the AVX-512 panel, so AVX512_BF16 is required too.
// DLMSTREAM_AMX=0 (read once at init) turns AMX off, for comparison:
// MatMulPacked then runs the panel kernels at every m.
var hasAMX = os.Getenv(envAMX) != "0" && hasAVX512BF16 && cpu.X86.HasAMXTile && cpu.X86.HasAMXBF16 &&
	cpu.X86.HasOSXSAVE && xcr0Tiles() && amxPermit()

// envAMX is the environment variable that turns AMX off ("0").
const envAMX = "DLMSTREAM_AMX"

func xcr0Tiles() bool {
	eax, _ := xgetbv0()
	return eax&(3<<17) == 3<<17
}

// amxMinRows is the smallest m MatMulPacked runs on AMX (when hasAMX). It
// is 1, so that an output row's bits do not depend on m (how many rows a
// call has): a prefix computed in blocks then matches one computed whole
// (engine.TestScore: cached scores against a brute-force forward, 1e-4),
// as on the panel alone. The price is at m = 1-2: on the 2-core Sapphire
// Rapids VM (SDAR-1.7B layer, BenchmarkMatMulPackedAMX, medians of 5-6
// rounds, a shared machine) AMX / panel was 1.04-1.33x at m = 1 on 1
// thread and 1.00-1.15x on 2, 0.96-1.09x at m = 2, 0.81-1.0x at m = 4,
// 0.6x at m = 8 (the 1-token engine forward, 2 threads, moved within its
// noise). amxMinRows = 4 would take AMX only where it wins, at the cost
// of that invariance.
var amxMinRows = 1

// useAMX reports whether MatMulPacked on pw (pairs) at m rows takes AMX.
func useAMX(m int, pw *PackedBF16) bool {
	return hasAMX && m >= amxMinRows && pw.k2 >= 16
}

// set configures the tiles of one amx{R}x{C} call: rows[r] rows in row
// block r, cols[c] columns in strip c (1..16 each).
func (cfg *amxConfig) set(rows [2]int, cols [2]int, R, C int) {
	*cfg = amxConfig{palette: 1}
	for r := range R {
		cfg.rows[tileA(r)], cfg.colsb[tileA(r)] = uint8(rows[r]), 64
		for c := range C {
			cfg.rows[tileC(r, c)], cfg.colsb[tileC(r, c)] = uint8(rows[r]), uint16(4*cols[c])
		}
	}
	for c := range C {
		cfg.rows[tileB(c)], cfg.colsb[tileB(c)] = 16, uint16(4*cols[c])
	}
}

// The tile registers of amx_gen_amd64.go: C[r][c] in TMM(2r+c), A row
// blocks in TMM4-5, B strips in TMM6-7.
func tileC(r, c int) int { return 2*r + c }
func tileA(r int) int    { return 4 + r }
func tileB(c int) int    { return 6 + c }

// amxPairs is bf16Pairs with a row stride of ldx bytes, an odd number of
// 64-byte lines ≥ 4·k2: the 16 or 32 rows of one or two A tiles then fall
// in distinct L1 sets (at k = 2048 or 6144 a stride of 4·k2 is a multiple
// of 4 KiB, and every row of a tile maps to one 12-way set: AMX at m = 32
// ran 3x slower from L2). xs [m][ldx/2] bf16; pad columns are zero up to
// 2·k2 (for the odd k's last pair) and unread past it.
func amxPairs(x []float32, m, k, k2 int) (xs []uint16, ldx int, bufp *[]uint16) {
	ldx = (k2*4 + 63) &^ 63
	if ldx/64%2 == 0 {
		ldx += 64
	}
	bufp = pairPool.Get().(*[]uint16)
	need := m * ldx / 2
	if cap(*bufp) < need {
		*bufp = make([]uint16, need)
	}
	xs = (*bufp)[:need]
	for i := range m {
		d, s := xs[i*ldx/2:i*ldx/2+2*k2], x[i*k:(i+1)*k]
		done := k &^ 15
		cvtBF16AVX512(d[:done], s[:done])
		F32ToBF16(d[done:k], s[done:])
		if k%2 == 1 {
			d[k] = 0
		}
	}
	return xs, ldx, bufp
}

// matMulPackedAMX is MatMulPacked on pairs weights with AMX tiles (k2 ≥
// 16). Threads split the strips in pairs; per pair of strips, blocks of 32
// rows run one amx kernel over the k pairs below k2 &^ 15, then blocks of
// 8 rows add the last k2 % 16 pairs with the panel kernels. Every output's
// sum (TDPBF16PS per 16 k pairs in k order, then the tail pairs) does not
// depend on the threads or the tiles.
func matMulPackedAMX(out, x []float32, pw *PackedBF16, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	n, k2 := pw.n, pw.k2
	xs, ldx, bufp := amxPairs(x, m, pw.k, k2)
	defer pairPool.Put(bufp)
	q0 := k2 &^ 15 // pairs [0, q0) on AMX, [q0, k2) on the panel kernels
	lastCols := n - 16*(pw.n16-1)
	wp, xp, op := unsafe.Pointer(&pw.data[0]), unsafe.Pointer(&xs[0]), unsafe.Pointer(&out[0])
	lds, ldo := k2*64, n*4
	parallelFor(pw.n16, 2, func(s0, s1 int) {
		var cfg amxConfig
		for sg := s0; sg < s1; sg += 2 {
			C := min(2, s1-sg)
			cols := [2]int{16, 16}
			mask := 0xffff
			if sg+C == pw.n16 {
				cols[C-1], mask = lastCols, 1<<lastCols-1
			}
			for i := 0; i < m; i += 32 {
				rows := [2]int{min(16, m-i), max(0, min(16, m-i-16))}
				R := 1 + min(1, rows[1])
				cfg.set(rows, cols, R, C)
				amxKernels[R-1][C-1](&cfg, (*float32)(unsafe.Add(op, i*ldo+sg*64)), ldo,
					unsafe.Add(wp, sg*lds), lds, unsafe.Add(xp, i*ldx), ldx, q0/16)
			}
			for i := 0; i < m && q0 < k2; i += 8 {
				r := min(8, m-i)
				bfpKernels[r-1][C-1]((*float32)(unsafe.Add(op, i*ldo+sg*64)), ldo,
					unsafe.Add(wp, sg*lds+q0*64), lds, unsafe.Add(xp, i*ldx+q0*4), ldx, k2-q0, mask, 1)
			}
		}
	})
}
