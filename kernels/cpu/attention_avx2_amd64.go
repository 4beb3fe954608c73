//go:build amd64

package cpu

import "unsafe"

// AVX2 P·V micro-kernels from matmul_amd64.s (gen_avx2_amd64.go):
// pvavx2{R}x{W} accumulates o[r, 0:8W] += Σ_{j<nk} p[r, j]·v[j, 0:8W] for
// r < R ≤ 4, W ≤ 3 (ymm columns of 8).

//go:noescape
func pvavx21x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx21x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx21x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx22x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx22x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx22x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx23x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx23x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx23x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx24x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx24x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvavx24x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

var pvAVX2Kernels = [4][3]pvKernel{
	{pvavx21x1, pvavx21x2, pvavx21x3},
	{pvavx22x1, pvavx22x2, pvavx22x3},
	{pvavx23x1, pvavx23x2, pvavx23x3},
	{pvavx24x1, pvavx24x2, pvavx24x3},
}

// pvAVX2Width returns the ymm columns of the next P·V tile when nv of them
// are left: 3 (12 accumulators at 4 rows), except that 4 left go 2 + 2, so
// no tile is a single column unless headDim is 8 (headDim 32 = 2+2, 40 =
// 3+2, 64 = 3+3+2, 80 = 3+3+2+2, 128 = 3+3+3+3+2+2).
func pvAVX2Width(nv int) int {
	if nv == 4 {
		return 2
	}
	return min(3, nv)
}

// avx2AttnOps: q·k on the AVX2 f32 tiles (keys as weight rows), P·V on the
// pvavx2 kernels over the first headDim &^ 7 columns (scalar past them),
// 8-lane exp and max. Any headDim.
var avx2AttnOps = attnOps{
	name: "avx2",
	scores: func(S []float32, L int, qs []float32, nr, d int, k []float32, kvh, nKV int) {
		kh := k[kvh*d:]
		t := tiled{m: nr, n: L, ks: &f32AVX2,
			w: unsafe.Pointer(&kh[0]), ldw: 4 * nKV * d, x: unsafe.Pointer(&qs[0]), ldx: 4 * d,
			nblk: d / 8, p0: d / 8 * 8, hasTail: d%8 != 0,
			dot: func(i, j, p0 int) float32 { return dotF32(qs[i*d+p0:(i+1)*d], kh[j*nKV*d+p0:j*nKV*d+d]) },
		}
		t.cols(S, 0, L)
	},
	pv: func(O, P []float32, L, nr, d int, v []float32, kvh, nKV int) {
		// O [nr, d] += P[:, j0:j1]·V[j0:j1] over key chunks whose V stays
		// in L2 across the row blocks and column tiles.
		clear(O[:nr*d])
		nv := d / 8
		for j0 := 0; j0 < L && nv > 0; j0 += attnKeyChunk {
			nj := min(attnKeyChunk, L-j0)
			vh := unsafe.Pointer(&v[(j0*nKV+kvh)*d])
			for rb := 0; rb < nr; rb += 4 {
				R := min(4, nr-rb)
				for c := 0; c < nv; {
					W := pvAVX2Width(nv - c)
					pvAVX2Kernels[R-1][W-1](&O[rb*d+8*c], 4*d, &P[rb*L+j0], 4*L, unsafe.Add(vh, 32*c), 4*nKV*d, nj)
					c += W
				}
			}
		}
		if d8 := 8 * nv; d8 < d {
			for j := range L {
				vr := v[(j*nKV+kvh)*d+d8 : (j*nKV+kvh+1)*d]
				for r := range nr {
					if p := P[r*L+j]; p != 0 {
						o := O[r*d+d8 : (r+1)*d]
						for x, vv := range vr {
							o[x] += p * vv
						}
					}
				}
			}
		}
	},
	expRow: expRowAVX2,
	maxRow: maxRowAVX2,
}

func attentionAVX2(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, d int, mask Mask) {
	if d < 8 {
		attentionBlocked(&scalarAttnOps, out, q, k, v, nq, qPos0, nk, nHeads, nKV, d, mask)
		return
	}
	attentionBlocked(&avx2AttnOps, out, q, k, v, nq, qPos0, nk, nHeads, nKV, d, mask)
}
