//go:build amd64

package cpu

import "unsafe"

// Exact packed-bf16 micro-kernels from bfcols_amd64.s (gen_avx2_amd64.go,
// genBFC): bfc{R}x{V} computes an R×8V tile of out [m, n] from R rows of
// fp32 x and V/2 strips of a packCols PackedBF16 over nk steps of k:
// (R, V) = (1..6, 2), (1..2, 4), (1, 6).
type bfcKernel func(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc1x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc1x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc1x6(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc2x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc2x4(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc3x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc4x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc5x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

//go:noescape
func bfc6x2(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)

// bfcKernels[R-1][V/2-1] is bfc{R}x{V} (nil where there is none).
var bfcKernels = [6][3]bfcKernel{
	{bfc1x2, bfc1x4, bfc1x6},
	{bfc2x2, bfc2x4, nil},
	{bfc3x2, nil, nil},
	{bfc4x2, nil, nil},
	{bfc5x2, nil, nil},
	{bfc6x2, nil, nil},
}

// bfcTile picks the register tile for m rows: R rows × S strips (16S
// columns, 2S ymm). One pass over the weights serves up to 6 rows (1×3
// strips at m = 1: three weight streams; 2×2 at 2; m×1 up to 6); above,
// blocks of 6 rows sweep each strip's k chunk while it is in L2. Measured
// on the 2-core EPYC (SDAR-1.7B layer, 1 thread): 1×3 beat 1×2 by 8-14% at
// m = 1; at m = 8-16, 6×1 and 2×2 tie within noise; at m = 32 6×1 beat
// 2×2 by 10% and 4×1 by 20%.
var bfcTile = func(m int) (R, S int) {
	switch {
	case m == 1:
		return 1, 3
	case m == 2:
		return 2, 2
	case m <= 6:
		return m, 1
	default:
		return 6, 1
	}
}

// bfcKChunk is the number of k steps a tile covers before the next row
// block reuses the same weights (0: all of k): 2048 keeps a strip group's
// chunk (64 KiB a strip) in L2 for any k.
var bfcKChunk = 2048

// matMulPackedAVX2 is MatMulPacked on packCols weights (the bfc kernels).
// Threads split the strips; inside a thread, per group of S strips and
// chunk of k, every block of R rows runs one tile (the accumulators
// restart from out after the first chunk, so chunking changes no bits). A
// ragged last strip (n % 16 != 0) is computed into a scratch tile and only
// its n % 16 columns are copied out.
func matMulPackedAVX2(out, x []float32, pw *PackedBF16, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	n, k := pw.n, pw.k
	if k == 0 {
		clear(out[:m*n])
		return
	}
	R, S := bfcTile(m)
	kc := bfcKChunk
	if kc <= 0 || m <= R {
		kc = k
	}
	wp, xp := unsafe.Pointer(&pw.data[0]), unsafe.Pointer(&x[0])
	lds, ldx := k*32, k*4
	parallelFor(pw.n16, S, func(s0, s1 int) {
		var scratch []float32 // [m][16c] for a group with the ragged last strip
		for sg := s0; sg < s1; sg += S {
			c := min(S, s1-sg)
			o, ldo := unsafe.Pointer(&out[16*sg]), n*4
			ragged := sg+c == pw.n16 && n%16 != 0
			if ragged {
				scratch = make([]float32, m*16*c)
				o, ldo = unsafe.Pointer(&scratch[0]), 64*c
			}
			for p0 := 0; p0 < k; p0 += kc {
				nk := min(kc, k-p0)
				acc := 0
				if p0 > 0 {
					acc = 1
				}
				for i := 0; i < m; i += R {
					r := min(R, m-i)
					bfcKernels[r-1][c-1]((*float32)(unsafe.Add(o, i*ldo)), ldo,
						unsafe.Add(wp, sg*lds+p0*32), lds,
						unsafe.Add(xp, i*ldx+p0*4), ldx, nk, acc)
				}
			}
			if ragged {
				cols := n - 16*sg
				for i := range m {
					copy(out[i*n+16*sg:i*n+n], scratch[i*16*c:i*16*c+cols])
				}
			}
		}
	})
}
