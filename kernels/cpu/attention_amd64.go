//go:build amd64

package cpu

import (
	"strings"
	"unsafe"
)

// P·V micro-kernels from matmul_amd64.s: pv{R}x{W} accumulates
// o[r, 0:16W] += Σ_{j<nk} p[r, j]·v[j, 0:16W] for r < R.
type pvKernel func(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv1x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv1x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv1x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv1x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv2x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv2x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv2x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv2x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv3x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv3x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv3x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv3x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv4x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv4x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv4x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pv4x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

var pvKernels = [4][4]pvKernel{
	{pv1x1, pv1x2, pv1x3, pv1x4},
	{pv2x1, pv2x2, pv2x3, pv2x4},
	{pv3x1, pv3x2, pv3x3, pv3x4},
	{pv4x1, pv4x2, pv4x3, pv4x4},
}

// attnKeyChunk keys of one kv head's V (≤ 256 KiB at headDim 256) are reused
// from L2 by every row block and column chunk of the P·V product.
const attnKeyChunk = 256

// avx512AttnOps run q·k on the f32 tile kernels (keys as weight rows) and
// P·V on the pv kernels, with 16-lane exp and max. headDim % 16 == 0.
var avx512AttnOps = attnOps{
	name: "avx512",
	scores: func(S []float32, L int, qs []float32, nr, d int, k []float32, kvh, nKV int) {
		kh := k[kvh*d:]
		t := tiled{m: nr, n: L, ks: &f32AVX512,
			w: unsafe.Pointer(&kh[0]), ldw: 4 * nKV * d, x: unsafe.Pointer(&qs[0]), ldx: 4 * d,
			nblk: d / 16, p0: d,
			dot: func(i, j, p0 int) float32 { return dotF32(qs[i*d+p0:(i+1)*d], kh[j*nKV*d+p0:j*nKV*d+d]) },
		}
		t.cols(S, 0, L)
	},
	pv: func(O, P []float32, L, nr, d int, v []float32, kvh, nKV int) {
		// O += P[:, j0:j1]·V[j0:j1] over key chunks small enough that the
		// chunk of V stays in L2 across the row blocks and column chunks.
		clear(O[:nr*d])
		for j0 := 0; j0 < L; j0 += attnKeyChunk {
			nj := min(attnKeyChunk, L-j0)
			vh := unsafe.Pointer(&v[(j0*nKV+kvh)*d])
			for rb := 0; rb < nr; rb += 4 {
				R := min(4, nr-rb)
				for c := 0; c < d; c += 64 {
					W := min(4, (d-c)/16)
					pvKernels[R-1][W-1](&O[rb*d+c], 4*d, &P[rb*L+j0], 4*L, unsafe.Add(vh, 4*c), 4*nKV*d, nj)
				}
			}
		}
	},
	expRow: expRowAVX512,
	maxRow: maxRowAVX512,
	align:  16,
}

func attentionAVX512(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, d int, mask Mask) {
	if d%16 != 0 {
		attentionBlocked(&scalarAttnOps, out, q, k, v, nq, qPos0, nk, nHeads, nKV, d, mask)
		return
	}
	attentionBlocked(&avx512AttnOps, out, q, k, v, nq, qPos0, nk, nHeads, nKV, d, mask)
}

// batchAttnOps is the inner-loop set path p's Attention runs at headDim d
// (nil: none known; AttentionBatch then calls p.attention per sequence).
func batchAttnOps(p *impl, d int) *attnOps {
	switch {
	case p == &generic:
		return &scalarAttnOps
	case p.name == "avx2":
		if d < 8 {
			return &scalarAttnOps
		}
		return &avx2AttnOps
	case strings.HasPrefix(p.name, "avx512"):
		if d%16 != 0 {
			return &scalarAttnOps
		}
		return &avx512AttnOps
	}
	return nil
}

// attnOpsList lists the attention inner-loop sets this CPU can run.
func attnOpsList() []*attnOps {
	l := []*attnOps{&scalarAttnOps}
	if hasAVX2 {
		l = append(l, &avx2AttnOps)
	}
	if hasAVX512 {
		l = append(l, &avx512AttnOps)
	}
	return l
}
