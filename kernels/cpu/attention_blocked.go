package cpu

import (
	"math"
	"sort"
	"sync"
)

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
	calls := [1]AttentionSeq{{Out: out, Q: q, K: k, V: v, NQ: nq, QPos0: qPos0, NK: nk, Mask: mask}}
	attentionUnits(ops, calls[:], nHeads, nKV, d)
}

// attnScratch is one goroutine's buffers for attention units.
type attnScratch struct {
	qs, os []float32 // [attnRows, d]
	S      []float32 // [nr, L]
}

var attnScratchPool = sync.Pool{New: func() any { return new(attnScratch) }}

// attentionUnits runs the units of every sequence (kv head × block of
// attnRows query rows, in sequence order) in one parallelFor, so a batch of
// short sequences keeps every thread busy; each unit computes exactly what
// attentionBlocked computes for its sequence alone.
func attentionUnits(ops *attnOps, seqs []AttentionSeq, nHeads, nKV, d int) {
	group := nHeads / nKV
	var startsBuf [17]int
	starts := startsBuf[:0] // starts[i]: first unit of seqs[i]; then the total
	if len(seqs)+1 > len(startsBuf) {
		starts = make([]int, 0, len(seqs)+1)
	}
	total := 0
	for _, c := range seqs {
		starts = append(starts, total)
		total += nKV * ((c.NQ*group + attnRows - 1) / attnRows)
	}
	starts = append(starts, total)
	scale := float32(1 / math.Sqrt(float64(d)))
	parallelFor(total, 1, func(u0, u1 int) {
		sc := attnScratchPool.Get().(*attnScratch)
		defer attnScratchPool.Put(sc)
		sc.qs, sc.os = grow32(sc.qs, attnRows*d), grow32(sc.os, attnRows*d)
		ci := sort.SearchInts(starts, u0+1) - 1
		for u := u0; u < u1; u++ {
			for u >= starts[ci+1] {
				ci++
			}
			c := &seqs[ci]
			nrb := (starts[ci+1] - starts[ci]) / nKV
			lu := u - starts[ci]
			attnUnit(ops, sc, c, group, nHeads, nKV, d, scale, lu/nrb, lu%nrb*attnRows)
		}
	})
}

// attnUnit computes the query rows r0 .. r0+attnRows of kv head kvh of c.
func attnUnit(ops *attnOps, sc *attnScratch, c *AttentionSeq, group, nHeads, nKV, d int, scale float32, kvh, r0 int) {
	qs, os := sc.qs, sc.os
	nr := min(attnRows, c.NQ*group-r0)
	var lims [attnRows]int
	L := 0
	for r := range nr {
		i, h := (r0+r)/group, kvh*group+(r0+r)%group
		copy(qs[r*d:(r+1)*d], c.Q[(i*nHeads+h)*d:])
		lims[r] = max(0, min(c.NK, c.Mask.keyLimit(c.QPos0+i)))
		L = max(L, lims[r])
	}
	if L == 0 {
		clear(os[:nr*d])
	} else {
		sc.S = grow32(sc.S, nr*L)
		S := sc.S[:nr*L]
		ops.scores(S, L, qs, nr, d, c.K, kvh, nKV)
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
		ops.pv(os, S, L, nr, d, c.V, kvh, nKV)
	}
	for r := range nr {
		i, h := (r0+r)/group, kvh*group+(r0+r)%group
		copy(c.Out[(i*nHeads+h)*d:(i*nHeads+h+1)*d], os[r*d:(r+1)*d])
	}
}

// grow32 returns s with length n, reallocated only when too small.
func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
