package cpu

import "math"

// attnOps are the inner loops of attentionBlocked for one path.
type attnOps struct {
	name string
	// scores sets S[r, j] = qs[r, :]·K[j, kvh, :] for r < nr, j < L.
	// S: [nr, L]; qs: [nr, d]; k: [nk, nKV, d].
	scores func(S []float32, L int, qs []float32, nr, d int, k []float32, kvh, nKV int)
	// pv sets O[r, :] = Σ_{j<L} P[r, j]·V[j, kvh, :]. O: [nr, d]; P: [nr, L].
	pv func(O, P []float32, L, nr, d int, v []float32, kvh, nKV int)
	// expRow sets x[i] = exp(x[i]·scale - bias) and returns Σ x[i].
	expRow func(x []float32, scale, bias float32) float64
	// maxRow returns max(x).
	maxRow func(x []float32) float32
	// align: scores and pv need headDim % align == 0 (0: any headDim).
	align int
}

// scalarAttnOps are plain Go: the keys and values of a kv head are read once
// per block of query rows (row loop inside the key loop).
var scalarAttnOps = attnOps{
	name: "scalar",
	scores: func(S []float32, L int, qs []float32, nr, d int, k []float32, kvh, nKV int) {
		for j := range L {
			kr := k[(j*nKV+kvh)*d : (j*nKV+kvh+1)*d]
			for r := range nr {
				S[r*L+j] = dotF32(qs[r*d:(r+1)*d], kr)
			}
		}
	},
	pv: func(O, P []float32, L, nr, d int, v []float32, kvh, nKV int) {
		clear(O[:nr*d])
		for j := range L {
			vr := v[(j*nKV+kvh)*d : (j*nKV+kvh+1)*d]
			for r := range nr {
				if p := P[r*L+j]; p != 0 {
					o := O[r*d : (r+1)*d]
					for x, vv := range vr {
						o[x] += p * vv
					}
				}
			}
		}
	},
	expRow: expRowGeneric,
	maxRow: maxRowGeneric,
}

// attnRows is how many query rows of one kv head form a unit of work.
const attnRows = 16

// attentionBlocked computes Attention per kv head: the query rows sharing it
// (nq × group, gathered into qs [rows, headDim]) form a matrix, so
//
//	S [rows, L] = qs · K[0:L, kvh, :]ᵀ
//	P = softmax(S·scale) per row over its allowed keys (zeros past them)
//	O [rows, headDim] = P · V[0:L, kvh, :]
//
// where L is the largest key limit in the block of rows. Units of work are
// (kv head, block of attnRows rows), split across SetThreads goroutines.
// Same fp32 arithmetic as attentionGeneric in a different summation order.
func attentionBlocked(ops *attnOps, out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, d int, mask Mask) {
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
				clear(os[:nr*d])
			} else {
				if cap(S) < nr*L {
					S = make([]float32, nr*L)
				}
				S = S[:nr*L]
				ops.scores(S, L, qs, nr, d, k, kvh, nKV)
				for r := range nr {
					sr := S[r*L : (r+1)*L]
					lim := lims[r]
					if lim > 0 {
						// p = exp(s·scale - max(s)·scale) / Σ; scale > 0 keeps the argmax.
						inv := float32(1 / ops.expRow(sr[:lim], scale, ops.maxRow(sr[:lim])*scale))
						for j := range lim {
							sr[j] *= inv
						}
					}
					clear(sr[lim:])
				}
				ops.pv(os, S, L, nr, d, v, kvh, nKV)
			}
			for r := range nr {
				i, h := (r0+r)/group, kvh*group+(r0+r)%group
				copy(out[(i*nHeads+h)*d:(i*nHeads+h+1)*d], os[r*d:(r+1)*d])
			}
		}
	})
}
