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
	if nq < 0 || nk < 0 || qPos0 < 0 || nHeads <= 0 || nKV <= 0 || headDim <= 0 || nHeads%nKV != 0 ||
		len(q) < nq*nHeads*headDim || len(out) < nq*nHeads*headDim ||
		len(k) < nk*nKV*headDim || len(v) < nk*nKV*headDim {
		panic(fmt.Sprintf("cpu.Attention: bad shapes nq=%d qPos0=%d nk=%d nHeads=%d nKV=%d headDim=%d len(out,q,k,v)=%d,%d,%d,%d",
			nq, qPos0, nk, nHeads, nKV, headDim, len(out), len(q), len(k), len(v)))
	}
	if mask.Kind == BlockCausal && mask.Block <= 0 {
		panic(fmt.Sprintf("cpu.Attention: %v needs Block > 0", mask))
	}
	active.attention(out, q, k, v, nq, qPos0, nk, nHeads, nKV, headDim, mask)
}

// attentionGeneric is Attention in plain Go (attentionBlocked with scalar loops).
func attentionGeneric(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, headDim int, mask Mask) {
	attentionBlocked(&scalarAttnOps, out, q, k, v, nq, qPos0, nk, nHeads, nKV, headDim, mask)
}
