//go:build amd64

package cpu

import (
	"math"
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

// attnRows is how many query rows of one kv head form a unit of work.
const attnRows = 16

// attnKeyChunk keys of one kv head's V (≤ 256 KiB at headDim 256) are reused
// from L2 by every row block and column chunk of the P·V product.
const attnKeyChunk = 256

// attentionAVX512 computes Attention per kv head: the query rows that share
// it (nq × group, gathered into qs [rows, headDim]) form a matrix, so
//
//	S [rows, L] = qs · K[0:L, kvh, :]ᵀ   (f32 tile kernels, keys as weight rows)
//	P = softmax(S·scale) per row over its allowed keys (zeros past them)
//	O [rows, headDim] = P · V[0:L, kvh, :] (pv kernels)
//
// where L is the largest key limit in the block. Same fp32 arithmetic as
// attentionGeneric but in a different summation order. headDim must be a
// multiple of 16 (else the generic path runs).
func attentionAVX512(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, d int, mask Mask) {
	if d%16 != 0 || nk == 0 || nq == 0 {
		attentionGeneric(out, q, k, v, nq, qPos0, nk, nHeads, nKV, d, mask)
		return
	}
	group := nHeads / nKV
	rows := nq * group // query rows per kv head; row r is query r/group, head kvh*group + r%group
	nrb := (rows + attnRows - 1) / attnRows
	scale := float32(1 / math.Sqrt(float64(d)))
	parallelFor(nKV*nrb, 1, func(u0, u1 int) {
		qs := make([]float32, attnRows*d) // [attnRows, d]
		os := make([]float32, attnRows*d) // [attnRows, d]
		var S []float32                   // [nr, L]
		var lims [attnRows]int
		for u := u0; u < u1; u++ {
			kvh, r0 := u/nrb, u%nrb*attnRows
			nr := min(attnRows, rows-r0)
			L := 0
			for r := range nr {
				i, h := (r0+r)/group, kvh*group+(r0+r)%group
				copy(qs[r*d:(r+1)*d], q[(i*nHeads+h)*d:])
				lims[r] = max(0, min(nk, mask.keyLimit(qPos0+i)))
				L = max(L, lims[r])
			}
			if L == 0 {
				for r := range nr {
					i, h := (r0+r)/group, kvh*group+(r0+r)%group
					clear(out[(i*nHeads+h)*d : (i*nHeads+h+1)*d])
				}
				continue
			}
			if cap(S) < nr*L {
				S = make([]float32, nr*L)
			}
			S = S[:nr*L]
			kh := k[kvh*d:]
			t := tiled{m: nr, n: L, ks: &f32AVX512,
				w: unsafe.Pointer(&kh[0]), ldw: 4 * nKV * d, x: unsafe.Pointer(&qs[0]), ldx: 4 * d,
				nblk: d / 16, p0: d,
				dot: func(i, j, p0 int) float32 { return dotF32(qs[i*d+p0:(i+1)*d], kh[j*nKV*d+p0:j*nKV*d+d]) },
			}
			t.cols(S, 0, L)
			for r := range nr {
				sr := S[r*L : (r+1)*L]
				lim := lims[r]
				if lim == 0 {
					clear(sr)
					continue
				}
				// p = exp(s·scale - max(s)·scale) / Σ; scale > 0 keeps the argmax.
				inv := float32(1 / expRow(sr[:lim], scale, maxRow(sr[:lim])*scale))
				for j := range lim {
					sr[j] *= inv
				}
				clear(sr[lim:])
			}
			// O += P[:, j0:j1]·V[j0:j1] over key chunks small enough that the
			// chunk of V stays in L2 across the row blocks and column chunks.
			clear(os[:nr*d])
			for j0 := 0; j0 < L; j0 += attnKeyChunk {
				nj := min(attnKeyChunk, L-j0)
				vh := unsafe.Pointer(&v[(j0*nKV+kvh)*d])
				for rb := 0; rb < nr; rb += 4 {
					R := min(4, nr-rb)
					for c := 0; c < d; c += 64 {
						W := min(4, (d-c)/16)
						pvKernels[R-1][W-1](&os[rb*d+c], 4*d, &S[rb*L+j0], 4*L, unsafe.Add(vh, 4*c), 4*nKV*d, nj)
					}
				}
			}
			for r := range nr {
				i, h := (r0+r)/group, kvh*group+(r0+r)%group
				copy(out[(i*nHeads+h)*d:(i*nHeads+h+1)*d], os[r*d:(r+1)*d])
			}
		}
	})
}
