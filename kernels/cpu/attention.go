package cpu

import "fmt"

// Attention computes scaled dot-product attention with grouped-query heads.
//
//	q:   [nq, nHeads, headDim]  query i is at absolute position qPos0+i
//	k,v: [nk, nKV, headDim]     key j is at absolute position j (the KV cache
//	                            followed by the current block)
//	out: [nq, nHeads, headDim]  overwritten
//
// Query head h reads kv head h/(nHeads/nKV). Scores are (q·k)/sqrt(headDim)
// in fp32 (fp32 products and sums), softmax in fp32 with the maximum
// subtracted (expf, sum in float64), and the output is the
// probability-weighted sum of v in fp32. Only keys j < nk with
// mask.Allows(qPos0+i, j) are attended; a query with no allowed key gets zeros.
// Work is split across SetThreads goroutines over kv heads and blocks of
// their query rows (see attentionBlocked), so each kv head's keys and values
// are read once per block of up to 16 query rows; the AVX-512 path runs q·k
// and p·v on the matmul micro-kernels.
func Attention(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, headDim int, mask Mask) {
	checkAttention(out, q, k, v, nq, qPos0, nk, nHeads, nKV, headDim, mask)
	active.attention(out, q, k, v, nq, qPos0, nk, nHeads, nKV, headDim, mask)
}

func checkAttention(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, headDim int, mask Mask) {
	if nq < 0 || nk < 0 || qPos0 < 0 || nHeads <= 0 || nKV <= 0 || headDim <= 0 || nHeads%nKV != 0 ||
		len(q) < nq*nHeads*headDim || len(out) < nq*nHeads*headDim ||
		len(k) < nk*nKV*headDim || len(v) < nk*nKV*headDim {
		panic(fmt.Sprintf("cpu.Attention: bad shapes nq=%d qPos0=%d nk=%d nHeads=%d nKV=%d headDim=%d len(out,q,k,v)=%d,%d,%d,%d",
			nq, qPos0, nk, nHeads, nKV, headDim, len(out), len(q), len(k), len(v)))
	}
	if mask.Kind == BlockCausal && mask.Block <= 0 {
		panic(fmt.Sprintf("cpu.Attention: %v needs Block > 0", mask))
	}
}

// AttentionSeq is one sequence of an AttentionBatch call: Attention's
// arguments out, q, k, v, nq, qPos0, nk and mask (the head layout is the
// batch's). Keys and values are K and V, or, when KP is set, the pages of
// KP and VP (a paged KV cache's layer; K and V are then ignored).
//
// K0 and LSE (zero values: off) make it a partial attention for
// MergeAttention: only keys j in [K0, NK) that the mask allows are attended,
// and LSE, when set, receives each (query row, head)'s log-sum-exp of its
// scaled scores, log Σ_j exp(q·k_j/sqrt(headDim)), -Inf where no key is
// allowed (the output row is then zeros).
type AttentionSeq struct {
	Out, Q, K, V  []float32 // [NQ, nHeads, headDim], [NK, nKV, headDim]
	KP, VP        *PagedKV  // instead of K and V: NK rows of nKV heads (or one head of nKV × headDim)
	NQ, QPos0, NK int
	Mask          Mask
	K0            int       // first key attended (0 <= K0 <= NK)
	LSE           []float32 // nil, or [NQ, nHeads]: log-sum-exp per row and head
}

// partial reports whether s takes the key-range path (attnRangeUnit).
func (s *AttentionSeq) partial() bool { return s.K0 != 0 || s.LSE != nil }

// AttentionBatch computes Attention for every sequence, as one call per
// sequence would (bit for bit), with the work of all of them (kv heads ×
// blocks of query rows) split across SetThreads goroutines at once: a
// batch of short sequences, e.g. decode blocks of several requests, keeps
// every thread busy where one call per sequence would not.
func AttentionBatch(seqs []AttentionSeq, nHeads, nKV, headDim int) {
	for _, s := range seqs {
		if s.KP != nil {
			for _, p := range []*PagedKV{s.KP, s.VP} {
				if p == nil {
					panic("cpu.AttentionBatch: KP set without VP")
				}
				if err := p.check(s.NK, nKV, headDim); err != nil {
					panic("cpu.AttentionBatch: " + err.Error())
				}
			}
			checkAttention(s.Out, s.Q, nil, nil, s.NQ, s.QPos0, 0, nHeads, nKV, headDim, s.Mask) // the rest; keys checked above
		} else {
			checkAttention(s.Out, s.Q, s.K, s.V, s.NQ, s.QPos0, s.NK, nHeads, nKV, headDim, s.Mask)
		}
		if s.K0 < 0 || s.K0 > s.NK || (s.LSE != nil && len(s.LSE) < s.NQ*nHeads) {
			panic(fmt.Sprintf("cpu.AttentionBatch: key range [%d, %d), %d LSE values for %d rows × %d heads", s.K0, s.NK, len(s.LSE), s.NQ, nHeads))
		}
	}
	attentionBatch(active, seqs, nHeads, nKV, headDim)
}

// attentionBatch is AttentionBatch on path p.
func attentionBatch(p *impl, seqs []AttentionSeq, nHeads, nKV, headDim int) {
	if ops := batchAttnOps(p, headDim); ops != nil {
		attentionUnits(ops, seqs, nHeads, nKV, headDim)
		return
	}
	for _, s := range seqs {
		if s.KP != nil || s.partial() {
			attentionUnits(&scalarAttnOps, []AttentionSeq{s}, nHeads, nKV, headDim)
			continue
		}
		p.attention(s.Out, s.Q, s.K, s.V, s.NQ, s.QPos0, s.NK, nHeads, nKV, headDim, s.Mask)
	}
}

// attentionGeneric is Attention in plain Go (attentionBlocked with scalar loops).
func attentionGeneric(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, headDim int, mask Mask) {
	attentionBlocked(&scalarAttnOps, out, q, k, v, nq, qPos0, nk, nHeads, nKV, headDim, mask)
}
