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
	// scoresBF16 and pvBF16 (optional) are scores and pv on n bf16 rows of
	// one head in place (a head-major page: row j at k[j*ld:], d values),
	// with S and P rows ldS / ldP floats apart: scoresBF16 sets
	// S[r*ldS+j] = qs[r, :]·k[j, :] for j < n; pvBF16 adds
	// O[r, :] += Σ_{j<n} P[r*ldP+j]·v[j, :]. Each column and each sum is
	// the fp32 scores / pv of the widened rows, bit for bit. d % align == 0.
	scoresBF16 func(S []float32, ldS int, qs []float32, nr, d int, k []uint16, ld, n int)
	pvBF16     func(O, P []float32, ldP, nr, d int, v []uint16, ld, n int)
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
	qs, os []float32 // [attnRows, dp]
	S      []float32 // [nr, L]
	// kg, vg: keys and values [0, gl) of kv head gkvh of sequence gseq,
	// gathered into rows of dp floats (see attnUnit); reused by the next
	// unit of the same head.
	kg, vg []float32
	gseq   *AttentionSeq
	gkvh   int
	gl     int
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
	dp := d // the row width the inner loops run at: d, padded with zeros to their alignment
	if a := ops.align; a > 0 && d%a != 0 {
		dp = (d + a - 1) / a * a
	}
	parallelFor(total, 1, func(u0, u1 int) {
		sc := attnScratchPool.Get().(*attnScratch)
		defer attnScratchPool.Put(sc)
		sc.qs, sc.os = grow32(sc.qs, attnRows*dp), grow32(sc.os, attnRows*dp)
		sc.gseq = nil
		ci := sort.SearchInts(starts, u0+1) - 1
		for u := u0; u < u1; u++ {
			for u >= starts[ci+1] {
				ci++
			}
			c := &seqs[ci]
			nrb := (starts[ci+1] - starts[ci]) / nKV
			lu := u - starts[ci]
			attnUnit(ops, sc, c, group, nHeads, nKV, d, dp, scale, lu/nrb, lu%nrb*attnRows)
		}
		sc.gseq = nil // the pool must not keep the batch alive
	})
}

// attnUnit computes the query rows r0 .. r0+attnRows of kv head kvh of c.
// The inner loops run on rows of dp ≥ d floats: when c's keys are paged, or
// dp > d, the head's keys and values are first gathered into contiguous
// rows of dp floats (zeros past d), so q·k and p·v see the same fp32
// values in the same order whether the keys were paged or not.
func attnUnit(ops *attnOps, sc *attnScratch, c *AttentionSeq, group, nHeads, nKV, d, dp int, scale float32, kvh, r0 int) {
	if c.partial() {
		attnRangeUnit(ops, sc, c, group, nHeads, nKV, d, dp, scale, kvh, r0)
		return
	}
	qs, os := sc.qs, sc.os
	nr := min(attnRows, c.NQ*group-r0)
	var lims [attnRows]int
	L := 0
	for r := range nr {
		i, h := (r0+r)/group, kvh*group+(r0+r)%group
		copy(qs[r*dp:r*dp+d], c.Q[(i*nHeads+h)*d:])
		clear(qs[r*dp+d : (r+1)*dp])
		lims[r] = max(0, min(c.NK, c.Mask.keyLimit(c.QPos0+i)))
		L = max(L, lims[r])
	}
	if L == 0 {
		clear(os[:nr*dp])
	} else if c.KP != nil && c.KP.BF16 != nil && ops.scoresBF16 != nil && dp == d && c.KP.HeadDim == d {
		pagedBF16Unit(ops, sc, c, nr, d, 0, L, kvh, lims[:nr], scale, nil)
	} else {
		k, v, kh, nkv := c.K, c.V, kvh, nKV
		if c.KP != nil || dp != d {
			gatherHead(sc, c, kvh, nKV, d, dp, L)
			k, v, kh, nkv = sc.kg, sc.vg, 0, 1
		}
		sc.S = grow32(sc.S, nr*L)
		S := sc.S[:nr*L]
		ops.scores(S, L, qs, nr, dp, k, kh, nkv)
		softmaxRows(ops, S, L, lims[:nr], scale)
		ops.pv(os, S, L, nr, dp, v, kh, nkv)
	}
	for r := range nr {
		i, h := (r0+r)/group, kvh*group+(r0+r)%group
		copy(c.Out[(i*nHeads+h)*d:(i*nHeads+h+1)*d], os[r*dp:r*dp+d])
	}
}

// pagedBF16Unit is attnUnit's scores, softmax and P·V for head-major bf16
// pages read in place, page by page (ops.scoresBF16, ops.pvBF16), over the
// keys [j0, L): S is [nr, L-j0] and lims are relative to j0. Keys are
// computed by the tile kernels whenever L-j0 >= 4 (a page chunk of fewer
// than 4 keys is computed in a 4-key window gathered around it), as the
// contiguous path computes them, so with j0 = 0 the bits match it. lse,
// when set (attnRangeUnit), receives each row's log-sum-exp.
func pagedBF16Unit(ops *attnOps, sc *attnScratch, c *AttentionSeq, nr, d, j0, L, kvh int, lims []int, scale float32, lse []float32) {
	qs, os := sc.qs, sc.os
	kp, vp := c.KP, c.VP
	pr := kp.PageRows
	W := L - j0
	sc.S = grow32(sc.S, nr*W)
	S := sc.S[:nr*W]
	for j := j0; j < L; {
		pg, off := j/pr, j%pr
		n := min(L-j, pr-off)
		if n < 4 && W >= 4 {
			w0 := min(j, L-4) // a 4-key window holding [j, j+n), inside [j0, L)
			var s4 [attnRows * 4]float32
			sc.kg = keep32(sc.kg, 0, 4*d)
			kp.gather(sc.kg, d, w0, w0+4, kvh*d, d)
			ops.scores(s4[:nr*4], 4, qs, nr, d, sc.kg, 0, 1)
			for r := range nr {
				copy(S[r*W+j-j0:r*W+j-j0+n], s4[r*4+j-w0:r*4+j-w0+n])
			}
		} else {
			base := (kvh*pr + off) * d
			ops.scoresBF16(S[j-j0:], W, qs, nr, d, kp.BF16[pg][base:], d, n)
		}
		j += n
	}
	sc.gseq = nil // sc.kg was used as scratch
	if lse != nil {
		softmaxRowsLSE(ops, S, W, lims, scale, lse)
	} else {
		softmaxRows(ops, S, W, lims, scale)
	}
	clear(os[:nr*d])
	for j := j0; j < L; {
		pg, off := j/pr, j%pr
		n := min(L-j, pr-off)
		ops.pvBF16(os, S[j-j0:], W, nr, d, vp.BF16[pg][(kvh*pr+off)*d:], d, n)
		j += n
	}
}

// softmaxRows turns each row r of S [len(lims), L] into probabilities over
// its allowed keys [0, lims[r]) and zeros past them.
func softmaxRows(ops *attnOps, S []float32, L int, lims []int, scale float32) {
	for r, lim := range lims {
		sr := S[r*L : (r+1)*L]
		if lim > 0 {
			// p = exp(s·scale - max(s)·scale) / Σ; scale > 0 keeps the argmax.
			inv := float32(1 / ops.expRow(sr[:lim], scale, ops.maxRow(sr[:lim])*scale))
			for j := range lim {
				sr[j] *= inv
			}
		}
		clear(sr[lim:])
	}
}

// dotWidened is dotF32 of x and the bf16 row w widened.
func dotWidened(x []float32, w []uint16) float32 {
	var buf [256]float32
	if len(w) > len(buf) {
		t := make([]float32, len(w))
		BF16ToF32(t, w)
		return dotF32(x, t)
	}
	BF16ToF32(buf[:len(w)], w)
	return dotF32(x, buf[:len(w)])
}

// gatherHead makes sc.kg and sc.vg hold keys and values [0, L) of kv head
// kvh of c as rows of dp floats, extending what the last unit gathered when
// it was the same head of the same sequence.
func gatherHead(sc *attnScratch, c *AttentionSeq, kvh, nKV, d, dp, L int) {
	if sc.gseq != c || sc.gkvh != kvh {
		sc.gseq, sc.gkvh, sc.gl = c, kvh, 0
	}
	if sc.gl >= L {
		return
	}
	sc.kg, sc.vg = keep32(sc.kg, sc.gl*dp, L*dp), keep32(sc.vg, sc.gl*dp, L*dp)
	if c.KP != nil {
		c.KP.gather(sc.kg[sc.gl*dp:], dp, sc.gl, L, kvh*d, d)
		c.VP.gather(sc.vg[sc.gl*dp:], dp, sc.gl, L, kvh*d, d)
	} else {
		for j := sc.gl; j < L; j++ {
			src := (j*nKV + kvh) * d
			copy(sc.kg[j*dp:j*dp+d], c.K[src:src+d])
			copy(sc.vg[j*dp:j*dp+d], c.V[src:src+d])
			clear(sc.kg[j*dp+d : (j+1)*dp])
			clear(sc.vg[j*dp+d : (j+1)*dp])
		}
	}
	sc.gl = L
}

// keep32 returns s with length n, keeping its first kept values when it
// has to grow.
func keep32(s []float32, kept, n int) []float32 {
	if cap(s) < n {
		t := make([]float32, n, max(n, 2*cap(s)))
		copy(t, s[:kept])
		return t
	}
	return s[:n]
}

// grow32 returns s with length n, reallocated only when too small.
func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
