// Package kerneltest is the conformance suite every kernel backend runs:
// the CPU kernels (kernels/cpu) in CI, and the CUDA backend (kernels/cuda)
// where a device is present. Run feeds a Backend the same seeded inputs,
// compares its outputs with float64 references and, for a backend other
// than the CPU one, with the CPU kernels, under tolerances stated per op.
//
// A Backend takes and returns host slices; how it moves them to its device
// and back is its own business. Shapes follow kernels/cpu. A backend's
// tests run the suite with
//
//	func TestConformance(t *testing.T) {
//		kerneltest.Run(t, myBackend) // Name() != "cpu": also compared with CPU{}
//	}
//
// The tolerances, and why each is what it is, are in tolerance.go; every
// input is drawn from a fixed seed (inputs.go), so failures reproduce.
package kerneltest

import "dlmstream/kernels/cpu"

// Backend is one implementation of the decoder's kernels. Every method
// returns an error, rather than panicking, for arguments that do not fit
// its shapes (Run's Validation cases check a few).
type Backend interface {
	Name() string
	// MatMulBF16: out[m, n] = x[m, k] · w[n, k]ᵀ with bf16 weights (raw bits)
	// and fp32 accumulation. Activations may be rounded to bf16 first (as
	// PyTorch's bf16 path does); the tolerance allows it.
	MatMulBF16(out, x []float32, w []uint16, m, n, k int) error
	// RMSNorm: out[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps); x, out
	// [rows, dim]; w [dim]. Also the per-head q/k norm (rows = tokens × heads).
	RMSNorm(out, x, w []float32, rows, dim int, eps float32) error
	// RoPE rotates x [rows, heads, headDim] in place, row r by position
	// pos[r], rotate-half layout, base theta (as cpu.RoPE).
	RoPE(x []float32, rows, heads, headDim int, pos []int, theta float64) error
	// SiLUMul: gate[i] = silu(gate[i]) · up[i].
	SiLUMul(gate, up []float32) error
	// Add: dst[i] += src[i].
	Add(dst, src []float32) error
	// AddBias: x[r, :] += b for each of rows rows.
	AddBias(x, b []float32, rows int) error
	// Embed gathers bf16 rows: out[r, :] = table[ids[r], :], widened; table
	// [vocab, dim], out [len(ids), dim].
	Embed(out []float32, table []uint16, ids []int32, dim int) error
	// Attention of nq query rows at absolute positions [qPos0, qPos0+nq)
	// over the first nk keys of kv (K and V pages of one layer, as
	// kvcache stores them, fp32 or bf16) under mask; q, out [nq, heads,
	// headDim]; kvHeads divides heads (grouped-query attention). Scale
	// 1/sqrt(headDim). Rows of the pages past nk hold stale (finite)
	// values that must not reach out; a query with no allowed key (nk 0)
	// gets zeros.
	Attention(out, q []float32, kv *[2]cpu.PagedKV, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) error
	// RowStats summarises each row of logits [rows, vocab] as greedy
	// decoding needs it (engine/decode Choice): argmax, its softmax
	// probability, the top-1 minus top-2 probability and logit, and the
	// softmax entropy in nats. -Inf entries are never chosen and add
	// nothing to the softmax; a row of only -Inf is an error. stats [rows].
	RowStats(stats []RowStat, logits []float32, rows, vocab int) error
}

// RowStat is one row's greedy choice and confidence measures.
type RowStat struct {
	Token       int32
	Conf        float32 // softmax probability of Token
	Margin      float32 // p(top1) - p(top2); Conf with one finite entry
	LogitMargin float32 // logit(top1) - logit(top2); +Inf with one finite entry
	Entropy     float32 // -Σ p log p, nats
}
