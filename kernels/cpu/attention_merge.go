package cpu

import (
	"fmt"
	"math"
)

// Partial attention over a key range, and the merge of two partial results
// (FlashBlock, dllm-engine-spec.md 8): attention over keys [0, n) equals
// the merge of attention over [0, s) and over [s, n), each with its
// log-sum-exp,
//
//	O = (e^{L1} A1 + e^{L2} A2) / (e^{L1} + e^{L2})
//
// up to float rounding.

// attnRangeUnit is attnUnit for a partial sequence (AttentionSeq.K0, LSE):
// the keys [K0, L) of kv head kvh, L the largest key limit of the rows,
// gathered into rows of dp floats, then scores, softmax with the
// log-sum-exp and P·V as attnUnit runs them.
func attnRangeUnit(ops *attnOps, sc *attnScratch, c *AttentionSeq, group, nHeads, nKV, d, dp int, scale float32, kvh, r0 int) {
	qs, os := sc.qs, sc.os
	nr := min(attnRows, c.NQ*group-r0)
	var lims [attnRows]int // relative to K0
	var lse [attnRows]float32
	L := 0
	for r := range nr {
		i, h := (r0+r)/group, kvh*group+(r0+r)%group
		copy(qs[r*dp:r*dp+d], c.Q[(i*nHeads+h)*d:])
		clear(qs[r*dp+d : (r+1)*dp])
		lims[r] = max(0, min(c.NK, c.Mask.keyLimit(c.QPos0+i))-c.K0)
		L = max(L, lims[r])
	}
	if L == 0 {
		clear(os[:nr*dp])
		for r := range nr {
			lse[r] = float32(math.Inf(-1))
		}
	} else if c.KP != nil && c.KP.BF16 != nil && ops.scoresBF16 != nil && dp == d && c.KP.HeadDim == d {
		pagedBF16Unit(ops, sc, c, nr, d, c.K0, c.K0+L, kvh, lims[:nr], scale, lse[:nr]) // pages read in place
	} else {
		k, v, kh, nkv := c.K, c.V, kvh, nKV
		if c.KP != nil || dp != d {
			sc.kg, sc.vg = grow32(sc.kg, L*dp), grow32(sc.vg, L*dp)
			gatherRange(sc.kg, sc.vg, c, kvh, nKV, d, dp, c.K0, c.K0+L)
			sc.gseq = nil // sc.kg no longer holds what gatherHead left
			k, v, kh, nkv = sc.kg, sc.vg, 0, 1
		} else {
			k, v = k[c.K0*nKV*d:], v[c.K0*nKV*d:]
		}
		sc.S = grow32(sc.S, nr*L)
		S := sc.S[:nr*L]
		ops.scores(S, L, qs, nr, dp, k, kh, nkv)
		softmaxRowsLSE(ops, S, L, lims[:nr], scale, lse[:nr])
		ops.pv(os, S, L, nr, dp, v, kh, nkv)
	}
	for r := range nr {
		i, h := (r0+r)/group, kvh*group+(r0+r)%group
		copy(c.Out[(i*nHeads+h)*d:(i*nHeads+h+1)*d], os[r*dp:r*dp+d])
		if c.LSE != nil {
			c.LSE[i*nHeads+h] = lse[r]
		}
	}
}

// gatherRange copies keys and values [j0, j1) of kv head kvh of c into kg
// and vg [j1-j0, dp] (zeros past d).
func gatherRange(kg, vg []float32, c *AttentionSeq, kvh, nKV, d, dp, j0, j1 int) {
	if c.KP != nil {
		clear(kg[:(j1-j0)*dp])
		clear(vg[:(j1-j0)*dp])
		c.KP.gather(kg, dp, j0, j1, kvh*d, d)
		c.VP.gather(vg, dp, j0, j1, kvh*d, d)
		return
	}
	for j := j0; j < j1; j++ {
		src, dst := (j*nKV+kvh)*d, (j-j0)*dp
		copy(kg[dst:dst+d], c.K[src:src+d])
		copy(vg[dst:dst+d], c.V[src:src+d])
		clear(kg[dst+d : dst+dp])
		clear(vg[dst+d : dst+dp])
	}
}

// softmaxRowsLSE is softmaxRows that also sets lse[r] to the row's
// log Σ_j exp(s_j·scale) over its allowed keys (-Inf when none).
func softmaxRowsLSE(ops *attnOps, S []float32, L int, lims []int, scale float32, lse []float32) {
	for r, lim := range lims {
		sr := S[r*L : (r+1)*L]
		lse[r] = float32(math.Inf(-1))
		if lim > 0 {
			bias := ops.maxRow(sr[:lim]) * scale
			sum := ops.expRow(sr[:lim], scale, bias)
			inv := float32(1 / sum)
			for j := range lim {
				sr[j] *= inv
			}
			lse[r] = bias + float32(math.Log(sum))
		}
		clear(sr[lim:])
	}
}

// MergeAttention merges two partial attentions of the same queries over
// disjoint key sets (AttentionSeq with K0 and LSE):
//
//	a1, a2, out: [rows, nHeads, headDim]   (out may be a1 or a2)
//	l1, l2:      [rows, nHeads]            log-sum-exp of a1's and a2's scores
//
// out = (e^{l1} a1 + e^{l2} a2) / (e^{l1} + e^{l2}) per row and head, with
// the weights taken relative to max(l1, l2) in float64; a side with -Inf
// (no keys) gets weight 0, and both -Inf gives zeros. If lOut is non-nil
// it receives the merged log-sum-exp [rows, nHeads].
func MergeAttention(out, a1, l1, a2, l2, lOut []float32, rows, nHeads, headDim int) {
	n := rows * nHeads
	if rows < 0 || nHeads <= 0 || headDim <= 0 || len(out) < n*headDim || len(a1) < n*headDim || len(a2) < n*headDim ||
		len(l1) < n || len(l2) < n || (lOut != nil && len(lOut) < n) {
		panic(fmt.Sprintf("cpu.MergeAttention: bad shapes rows=%d nHeads=%d headDim=%d len(out,a1,l1,a2,l2)=%d,%d,%d,%d,%d",
			rows, nHeads, headDim, len(out), len(a1), len(l1), len(a2), len(l2)))
	}
	for i := range n {
		x, y := float64(l1[i]), float64(l2[i])
		m := math.Max(x, y)
		o := out[i*headDim : (i+1)*headDim]
		if math.IsInf(m, -1) {
			clear(o)
			if lOut != nil {
				lOut[i] = float32(m)
			}
			continue
		}
		w1, w2 := math.Exp(x-m), math.Exp(y-m) // exp(-Inf) = 0
		s := w1 + w2
		f1, f2 := float32(w1/s), float32(w2/s)
		p, q := a1[i*headDim:(i+1)*headDim], a2[i*headDim:(i+1)*headDim]
		for j := range o {
			o[j] = f1*p[j] + f2*q[j]
		}
		if lOut != nil {
			lOut[i] = float32(m + math.Log(s))
		}
	}
}
