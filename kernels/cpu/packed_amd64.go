//go:build amd64

package cpu

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Packed-bf16 micro-kernels from bfpanel_amd64.s (gen_amd64.go, genBFP):
// bfp{R}x{C} computes an R×16C tile of out [m, n] from R rows of bf16
// activation pairs and C strips of a PackedBF16 over nq k pairs, R ≤ 8,
// C ≤ 4, R·C ≤ 24.
type bfpKernel func(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp1x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp1x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp1x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp1x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp2x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp2x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp2x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp2x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp3x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp3x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp3x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp3x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp4x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp4x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp4x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp4x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp5x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp5x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp5x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp5x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp6x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp6x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp6x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp6x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp7x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp7x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp7x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp8x1(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp8x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

//go:noescape
func bfp8x3(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)

// bfpKernels[R-1][C-1] is bfp{R}x{C} (nil where R·C > 24).
var bfpKernels = [8][4]bfpKernel{
	{bfp1x1, bfp1x2, bfp1x3, bfp1x4},
	{bfp2x1, bfp2x2, bfp2x3, bfp2x4},
	{bfp3x1, bfp3x2, bfp3x3, bfp3x4},
	{bfp4x1, bfp4x2, bfp4x3, bfp4x4},
	{bfp5x1, bfp5x2, bfp5x3, bfp5x4},
	{bfp6x1, bfp6x2, bfp6x3, bfp6x4},
	{bfp7x1, bfp7x2, bfp7x3, nil},
	{bfp8x1, bfp8x2, bfp8x3, nil},
}

//go:noescape
func cvtBF16(dst *uint16, src *float32, n int)

var hasAVX512BF16 = hasAVX512 && cpu.X86.HasAVX512BF16

// cvtBF16AVX512 rounds src to bf16 into dst, len(src) a multiple of 16.
func cvtBF16AVX512(dst []uint16, src []float32) {
	if len(src) >= 16 {
		_ = dst[len(src)-1]
		cvtBF16(&dst[0], &src[0], len(src)/16)
	}
}

// bfpTile picks the register tile for m rows: R rows of x × C strips (16C
// columns). Up to 8 rows, all rows share one pass over the weights: 1×4 at
// m = 1, m×4 up to 6 rows (R·C ≤ 24 accumulators), then 8×3; above 8 rows,
// blocks of 8 rows sweep each group of 3 strips while it is in L2.
// Measured on the 2-core EPYC (SDAR-1.7B layer, 1 thread, min of 40
// interleaved runs): m = 1 1×4 3.49 ms (1×2 3.70); m = 4 4×4 3.67 (4×3
// 3.84, 2×4 4.70); m = 8 8×3 5.00 (6×4 5.00, 8×2 5.43, 4×4 5.68); m = 32
// 8×3 16.5 (6×4 17.0).
var bfpTile = func(m int) (R, C int) {
	switch {
	case m == 1:
		return 1, 4
	case m <= 6:
		return m, 4
	default:
		return 8, 3
	}
}

// bfpKChunk is the number of k pairs a tile covers before the next row
// block reuses the same weights (0: all of k): 2048 keeps a group of 3
// strips within 384 KiB of L2 for any k (at k ≤ 4096 it changes nothing;
// chunks of 64-256 pairs, sized for L1, measured 7-15% slower at m = 32).
var bfpKChunk = 2048

// matMulPackedAVX512 is MatMulPacked on the bfp kernels. Threads split the
// strips; inside a thread, per group of C strips and chunk of k pairs,
// every block of R rows runs one tile (the accumulators restart from out
// after the first chunk, so chunking changes no bits).
func matMulPackedAVX512(out, x []float32, pw *PackedBF16, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	if pw.k == 0 {
		clear(out[:m*pw.n])
		return
	}
	n, k2 := pw.n, pw.k2
	xs, bufp := bf16Pairs(x, m, pw.k, k2, cvtBF16AVX512)
	defer pairPool.Put(bufp)
	R, C := bfpTile(m)
	kc := bfpKChunk
	if kc <= 0 || m <= R {
		kc = k2
	}
	lastMask := 0xffff
	if n%16 != 0 {
		lastMask = 1<<(n%16) - 1
	}
	wp, xp, op := unsafe.Pointer(&pw.data[0]), unsafe.Pointer(&xs[0]), unsafe.Pointer(&out[0])
	lds, ldx, ldo := k2*64, k2*4, n*4
	parallelFor(pw.n16, C, func(s0, s1 int) {
		for sg := s0; sg < s1; sg += C {
			c := min(C, s1-sg)
			mask := 0xffff
			if sg+c == pw.n16 {
				mask = lastMask
			}
			for q0 := 0; q0 < k2; q0 += kc {
				nq := min(kc, k2-q0)
				acc := 0
				if q0 > 0 {
					acc = 1
				}
				for i := 0; i < m; i += R {
					r := min(R, m-i)
					bfpKernels[r-1][c-1]((*float32)(unsafe.Add(op, i*ldo+sg*64)), ldo,
						unsafe.Add(wp, sg*lds+q0*64), lds,
						unsafe.Add(xp, i*ldx+q0*4), ldx, nq, mask, acc)
				}
			}
		}
	})
}
