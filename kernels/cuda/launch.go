package cuda

import (
	"fmt"
	"unsafe"
)

// The launchers queue one kernel each on q; every address is a device
// pointer and the shapes are the kernels' (kernels/*.cu).

// RMSNorm: out[r, :] = w ⊙ x[r, :] / sqrt(mean(x[r, :]²) + eps); x, out [rows, n].
func (b *Backend) RMSNorm(q *Queue, out, x, w uintptr, rows, n int, eps float32) error {
	return q.Launch(b.K.Get("rmsnorm_f32"), Dim3{X: rows}, Dim3{X: normThreads}, normThreads*4, out, x, w, int32(n), eps)
}

// RoPE rotates x [rows, heads, d] in place by pos [rows] (int32) with
// invFreq [d/2].
func (b *Backend) RoPE(q *Queue, x, pos, invFreq uintptr, rows, heads, d int) error {
	return q.Launch(b.K.Get("rope_f32"), Dim3{X: rows, Y: heads}, Dim3{X: (d/2 + 31) / 32 * 32}, 0, x, pos, invFreq, int32(heads), int32(d))
}

// SiLUMul: gate[i] = silu(gate[i]) · up[i], n values.
func (b *Backend) SiLUMul(q *Queue, gate, up uintptr, n int64) error {
	return q.Launch(b.K.Get("silu_mul_f32"), Dim3{X: blocks(n, threads1D)}, Dim3{X: threads1D}, 0, gate, up, n)
}

// Add: dst[i] += src[i], n values.
func (b *Backend) Add(q *Queue, dst, src uintptr, n int64) error {
	return q.Launch(b.K.Get("add_f32"), Dim3{X: blocks(n, threads1D)}, Dim3{X: threads1D}, 0, dst, src, n)
}

// AddBias: x[r, :] += bias [n] for rows rows.
func (b *Backend) AddBias(q *Queue, x, bias uintptr, rows, n int) error {
	return q.Launch(b.K.Get("add_bias_f32"), Dim3{X: blocks(int64(rows)*int64(n), threads1D)}, Dim3{X: threads1D}, 0, x, bias, int64(rows), int32(n))
}

// ToBF16 rounds n floats to bf16 (nearest even), as cpu.F32ToBF16.
func (b *Backend) ToBF16(q *Queue, dst, src uintptr, n int64) error {
	return q.Launch(b.K.Get("f32_to_bf16"), Dim3{X: blocks(n, threads1D)}, Dim3{X: threads1D}, 0, dst, src, n)
}

// Embed gathers rows of a bf16 table [vocab, hidden] by ids [rows] (int32)
// into out [rows, hidden].
func (b *Backend) Embed(q *Queue, out, table, ids uintptr, rows, hidden int) error {
	return q.Launch(b.K.Get("embed_bf16"), Dim3{X: blocks(int64(hidden), threads1D), Y: rows}, Dim3{X: threads1D}, 0, out, table, ids, int32(hidden))
}

// GatherRows: out[i, :] = x[rows[i], :] for nrows rows of n floats.
func (b *Backend) GatherRows(q *Queue, out, x, rows uintptr, nrows, n int) error {
	return q.Launch(b.K.Get("gather_rows_f32"), Dim3{X: blocks(int64(n), threads1D), Y: nrows}, Dim3{X: threads1D}, 0, out, x, rows, int32(n))
}

// AttnSeq is one sequence's share of a batched attention or KV store
// (struct AttnSeq in attention.cu): its query rows [QRow0, QRow0+NQ) of
// the stacked batch at absolute positions from QPos0, its key count, where
// its page ids start in the page-table array, and its mask.
type AttnSeq struct {
	QRow0, NQ, QPos0, NK, PageTab0, MaskKind, MaskBlock, _ int32
}

// attnSeqBytes is sizeof(struct AttnSeq) on the device.
const attnSeqBytes = 32

var (
	_ [attnSeqBytes - unsafe.Sizeof(AttnSeq{})]struct{} // the mirror is 32 bytes
	_ [unsafe.Sizeof(AttnSeq{}) - attnSeqBytes]struct{}
	_ [20 - unsafe.Sizeof(RowStat{})]struct{} // struct RowStat is 20 bytes
	_ [unsafe.Sizeof(RowStat{}) - 20]struct{}
)

// PageLayout places one layer's K and V inside the pool's pages: page p's
// K part starts at element p·PageElems + OffK (kv heads × 16 rows × head
// dim, head-major, as engine/kvcache lays a page out), its V part at OffV.
type PageLayout struct {
	PageElems, OffK, OffV int64
	BF16                  bool // bf16 pages, else fp32
}

func (l PageLayout) suffix() string {
	if l.BF16 {
		return "bf16"
	}
	return "f32"
}

// KVStore writes each sequence's new K and V rows ([rows, kvHeads·d], at
// positions QPos0+i) into its pages.
func (b *Backend) KVStore(q *Queue, pool, pageTables, seqs, k, v uintptr, nseq, maxNQ int, l PageLayout, kvHeads, d int) error {
	return q.Launch(b.K.Get("kv_store_"+l.suffix()), Dim3{X: maxNQ, Z: nseq}, Dim3{X: 128}, 0,
		pool, pageTables, seqs, k, v, l.PageElems, l.OffK, l.OffV, int32(kvHeads), int32(d))
}

// Attention runs every sequence's queries [rows, heads, d] over its paged
// keys and values under its mask into out.
func (b *Backend) Attention(q *Queue, out, qp, pool, pageTables, seqs uintptr, nseq, maxNQ int, l PageLayout, heads, kvHeads, d int, scale float32) error {
	if d > 256 || heads%kvHeads != 0 {
		return fmt.Errorf("cuda: attention with head_dim %d (at most 256), %d heads over %d kv heads", d, heads, kvHeads)
	}
	return q.Launch(b.K.Get("attention_paged_"+l.suffix()), Dim3{X: (maxNQ + attnRows - 1) / attnRows, Y: heads, Z: nseq}, Dim3{X: 32 * attnRows}, 0,
		out, qp, pool, pageTables, seqs, l.PageElems, l.OffK, l.OffV, int32(heads), int32(kvHeads), int32(d), scale)
}

// RowStat is one row's greedy choice (struct RowStat in rowstats.cu).
type RowStat struct {
	Token                              int32
	Conf, Margin, LogitMargin, Entropy float32
}

// RowStats summarises logits [rows, vocab] into out [rows] RowStat.
func (b *Backend) RowStats(q *Queue, out, logits uintptr, rows, vocab int) error {
	return q.Launch(b.K.Get("row_stats_f32"), Dim3{X: rows}, Dim3{X: statThreads}, statThreads*16, out, logits, int32(vocab))
}

// FillUniformBF16 writes n seeded uniform bf16 values in [-lim, lim) at
// dst (benchmark weights made on the device; see fill_uniform_bf16).
func (b *Backend) FillUniformBF16(q *Queue, dst uintptr, n int64, seed uint64, lim float32) error {
	return q.Launch(b.K.Get("fill_uniform_bf16"), Dim3{X: blocks(n, threads1D)}, Dim3{X: threads1D}, 0, dst, n, seed, lim)
}

// SetColumn queues x[r, col] = v for rows rows of stride floats.
func (b *Backend) SetColumn(q *Queue, x uintptr, rows int, stride int64, col int, v float32) error {
	return q.Launch(b.K.Get("set_column_f32"), Dim3{X: blocks(int64(rows), threads1D)}, Dim3{X: threads1D}, 0, x, int32(rows), stride, int32(col), v)
}
