//go:build amd64

package cpu

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run gen_int8_amd64.go

// qdpKernel is one VPDPBUSD micro-kernel of packed_int8_amd64.s
// (gen_int8_amd64.go, genQDP): qdp{R}x{C} computes an R×16C tile of out
// [m, n] from R rows of u8 activation quads and C strips of a PackedInt8
// over nq k quads, R ≤ 8, C ≤ 4, R·C ≤ 24.
type qdpKernel func(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, comp *int32, sc *float32, xs *float32)

var hasVNNI = hasAVX512 && cpu.X86.HasAVX512VNNI

// vnniActive reports whether MatMulPackedInt8 runs the VNNI kernels: the
// CPU has AVX512_VNNI and the active path is an AVX-512 one (every path
// but generic and avx2).
func vnniActive() bool { return hasVNNI && active != &generic && active != &avx2 }

// qdpTile picks the register tile for m rows: R rows of x × C strips (16C
// columns), as for the bf16 kernels: 1×4 at m = 1 (1×2 to 1×8 measured
// within the noise of the shared 2-core Sapphire Rapids: one row is bound
// by DRAM); up to 8 rows, all rows share one pass over the weights: m×4 up to 6 rows
// (R·C ≤ 24 accumulators), then 8×3; above 8 rows, blocks of 8 rows sweep
// each group of 3 strips while it is in L2 (3 strips of k = 6144 are
// 288 KiB).
var qdpTile = func(m int) (R, C int) {
	switch {
	case m == 1:
		return 1, 4
	case m <= 6:
		return m, 4
	default:
		return 8, 3
	}
}

// matMulPackedInt8VNNI is MatMulPackedInt8 on the qdp kernels. Threads
// split the strips; inside a thread, per group of C strips, every block of
// R rows runs one tile over all of k.
func matMulPackedInt8VNNI(out, x []float32, pw *PackedInt8, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	if pw.k == 0 {
		clear(out[:m*pw.n])
		return
	}
	n, k4 := pw.n, pw.k4
	qx := quantizeRows(x, m, pw.k, k4)
	defer qx.free()
	R, C := qdpTile(m)
	lastMask := 0xffff
	if n%16 != 0 {
		lastMask = 1<<(n%16) - 1
	}
	wp, xp, op := unsafe.Pointer(&pw.data[0]), unsafe.Pointer(&qx.u[0]), unsafe.Pointer(&out[0])
	lds, ldx, ldo := k4*64, k4*4, n*4
	parallelFor(pw.n16, C, func(s0, s1 int) {
		for sg := s0; sg < s1; sg += C {
			c := min(C, s1-sg)
			mask := 0xffff
			if sg+c == pw.n16 {
				mask = lastMask
			}
			for i := 0; i < m; i += R {
				r := min(R, m-i)
				qdpKernels[r-1][c-1]((*float32)(unsafe.Add(op, i*ldo+sg*64)), ldo,
					unsafe.Add(wp, sg*lds), lds, unsafe.Add(xp, i*ldx), ldx, k4, mask,
					&pw.comp[16*sg], &pw.scale[16*sg], &qx.scale[i])
			}
		}
	})
}
