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

//go:noescape
func pvbf1x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf1x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf1x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf1x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf2x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf2x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf2x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf2x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf3x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf3x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf3x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf3x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf4x1(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf4x2(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf4x3(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

//go:noescape
func pvbf4x4(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)

// pvbfKernels are pvKernels on raw bf16 v (widened exactly as loaded).
var pvbfKernels = [4][4]pvKernel{
	{pvbf1x1, pvbf1x2, pvbf1x3, pvbf1x4},
	{pvbf2x1, pvbf2x2, pvbf2x3, pvbf2x4},
	{pvbf3x1, pvbf3x2, pvbf3x3, pvbf3x4},
	{pvbf4x1, pvbf4x2, pvbf4x3, pvbf4x4},
}

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
// P·V on the pv kernels, with 16-lane exp and max, on rows of a multiple
// of 16 floats (align).
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
	// On bf16 pages the same tiles read the keys and values in place,
	// widening them as they load (the bf16 tile and pvbf kernels: the fp32
	// kernels' FMAs in their order, so the bits are those of fp32 keys).
	scoresBF16: func(S []float32, ldS int, qs []float32, nr, d int, k []uint16, ld, n int) {
		t := tiled{m: nr, n: n, ldo: ldS, ks: &bf16AVX512,
			w: unsafe.Pointer(&k[0]), ldw: 2 * ld, x: unsafe.Pointer(&qs[0]), ldx: 4 * d,
			nblk: d / 16, p0: d,
			dot: func(i, j, p0 int) float32 { return dotWidened(qs[i*d:(i+1)*d], k[j*ld:j*ld+d]) },
		}
		t.cols(S, 0, n)
	},
	pvBF16: func(O, P []float32, ldP, nr, d int, v []uint16, ld, n int) {
		for rb := 0; rb < nr; rb += 4 {
			R := min(4, nr-rb)
			for c := 0; c < d; c += 64 {
				W := min(4, (d-c)/16)
				pvbfKernels[R-1][W-1](&O[rb*d+c], 4*d, &P[rb*ldP], 4*ldP, unsafe.Pointer(&v[c]), 2*ld, n)
			}
		}
	},
	expRow: expRowAVX512,
	maxRow: maxRowAVX512,
	align:  16,
}

// attentionAVX512 runs any headDim: a headDim that is not a multiple of 16
// runs on rows padded with zeros to one (attnUnit).
func attentionAVX512(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, d int, mask Mask) {
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
