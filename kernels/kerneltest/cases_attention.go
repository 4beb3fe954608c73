package kerneltest

import (
	"fmt"
	"math"
	"slices"

	"dlmstream/kernels/cpu"
)

// attnCase is one Attention input: nq queries at positions [qPos0,
// qPos0+nq) of heads × headDim over nk keys of kvHeads heads, kept in
// pages of pageRows rows, fp32 or bf16, head-major ([kvHeads][pageRows]
// [headDim], kvcache with KVHeads set) or row-major (one head of kvHeads ×
// headDim, kvcache's default).
type attnCase struct {
	heads, kvHeads, headDim int
	nq, qPos0, nk           int
	mask                    cpu.Mask
	pageRows                int
	bf16, rowMajor          bool
	qScale                  float64 // q ~ N(0, qScale²); 0: 1
}

var (
	causal   = cpu.Mask{Kind: cpu.Causal}
	bidir    = cpu.Mask{Kind: cpu.Bidirectional}
	block4   = cpu.Mask{Kind: cpu.BlockCausal, Block: 4}
	block8   = cpu.Mask{Kind: cpu.BlockCausal, Block: 8}
	attnRuns = []attnCase{
		// decode: one query, GQA 4:1
		{heads: 4, kvHeads: 1, headDim: 128, nq: 1, qPos0: 37, nk: 38, mask: causal, pageRows: 16},
		// prefill from position 0
		{heads: 4, kvHeads: 2, headDim: 64, nq: 20, qPos0: 0, nk: 20, mask: causal, pageRows: 16, bf16: true},
		{heads: 4, kvHeads: 4, headDim: 80, nq: 7, qPos0: 13, nk: 20, mask: causal, pageRows: 7, rowMajor: true},
		// sharp scores (|q·k|/√d up to ~25): the softmax must subtract its maximum
		{heads: 4, kvHeads: 2, headDim: 64, nq: 4, qPos0: 60, nk: 64, mask: causal, pageRows: 16, qScale: 6},
		// no keys: zeros
		{heads: 4, kvHeads: 2, headDim: 64, nq: 2, qPos0: 0, nk: 0, mask: causal, pageRows: 16},
		// encoders and scratch keys past the queries (nk > qPos0+nq)
		{heads: 4, kvHeads: 2, headDim: 40, nq: 5, qPos0: 9, nk: 27, mask: bidir, pageRows: 16, bf16: true},
		{heads: 4, kvHeads: 4, headDim: 128, nq: 3, qPos0: 30, nk: 45, mask: bidir, pageRows: 16},
		{heads: 4, kvHeads: 2, headDim: 128, nq: 20, qPos0: 100, nk: 125, mask: bidir, pageRows: 16, bf16: true, rowMajor: true},
		// block diffusion: whole blocks, a partial block whose keys run past
		// qPos0+nq, keys inside nk that the block mask hides
		{heads: 4, kvHeads: 1, headDim: 64, nq: 8, qPos0: 12, nk: 20, mask: block4, pageRows: 16},
		{heads: 4, kvHeads: 2, headDim: 80, nq: 1, qPos0: 33, nk: 36, mask: block4, pageRows: 16, bf16: true},
		{heads: 4, kvHeads: 1, headDim: 40, nq: 13, qPos0: 3, nk: 17, mask: block4, pageRows: 3},
		{heads: 4, kvHeads: 2, headDim: 128, nq: 6, qPos0: 19, nk: 27, mask: block8, pageRows: 5, bf16: true},
		{heads: 4, kvHeads: 4, headDim: 40, nq: 16, qPos0: 32, nk: 48, mask: block8, pageRows: 16, bf16: true, rowMajor: true},
	}
)

func (c attnCase) name() string {
	dt, layout := "f32", ""
	if c.bf16 {
		dt = "bf16"
	}
	if c.rowMajor {
		layout = ",rowmajor"
	}
	return fmt.Sprintf("%v,d=%d,heads=%d:%d,nq=%d@%d,nk=%d,pages=%d,%s%s",
		c.mask, c.headDim, c.heads, c.kvHeads, c.nq, c.qPos0, c.nk, c.pageRows, dt, layout)
}

// attentionCases stores N(0, 1) keys and values in pages; the rows after
// nk hold large finite garbage (as recycled pages do), which a kernel
// reading past nk picks up.
func attentionCases() []testCase {
	var cs []testCase
	for _, c := range attnRuns {
		name := c.name()
		r := newRand("Attention", name)
		width := c.kvHeads * c.headDim
		pages := c.nk/c.pageRows + 1 // at least one row past nk
		rows := pages * c.pageRows
		q := normals(r, c.nq*c.heads*c.headDim, orDefault(c.qScale, 1)) // [nq, heads, headDim]
		var kv [2]cpu.PagedKV
		var stored [2][]float32 // [nk, kvHeads, headDim] as the pages hold them
		for i := range kv {
			x := normals(r, rows*width, 1) // [rows, kvHeads, headDim]
			for j := c.nk * width; j < len(x); j++ {
				x[j] = float32(1e3 * (2*r.Float64() - 1))
			}
			kv[i] = c.newPages(pages)
			kv[i].Store(0, x)
			stored[i] = c.asStored(x[:c.nk*width])
		}
		want := refAttention(q, stored[0], stored[1], c.nq, c.qPos0, c.nk, c.heads, c.kvHeads, c.headDim, c.mask)
		vmax := 0.0
		for _, v := range stored[1] {
			vmax = max(vmax, math.Abs(float64(v)))
		}
		scale := make([]float64, len(want))
		for i := range scale {
			scale[i] = vmax
		}
		cs = append(cs, floatCase{
			name: name, out: "out", want: want, scale: scale, tol: attentionTol,
			run: func(b Backend) ([]float32, error) {
				out := nans(len(q))
				return out, b.Attention(out, slices.Clone(q), &kv, c.nq, c.qPos0, c.nk, c.heads, c.kvHeads, c.headDim, c.mask)
			},
		}.testCase())
	}
	return cs
}

// newPages returns n empty pages of c's dtype and layout.
func (c attnCase) newPages(n int) cpu.PagedKV {
	p := cpu.PagedKV{PageRows: c.pageRows, Heads: c.kvHeads, HeadDim: c.headDim}
	if c.rowMajor {
		p.Heads, p.HeadDim = 1, c.kvHeads*c.headDim
	}
	for range n {
		if c.bf16 {
			p.BF16 = append(p.BF16, make([]uint16, c.pageRows*p.Width()))
		} else {
			p.F32 = append(p.F32, make([]float32, c.pageRows*p.Width()))
		}
	}
	return p
}

// asStored returns x as c's pages hold it: rounded to bf16 on bf16 pages.
func (c attnCase) asStored(x []float32) []float32 {
	if !c.bf16 {
		return slices.Clone(x)
	}
	b := make([]uint16, len(x))
	cpu.F32ToBF16(b, x)
	out := make([]float32, len(x))
	cpu.BF16ToF32(out, b)
	return out
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}
