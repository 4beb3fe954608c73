package kerneltest

import (
	"fmt"

	"dlmstream/kernels/cpu"
)

// validationCases call each method with one argument wrong; each call
// must return an error (a panic fails the case too).
func validationCases() []testCase {
	f := func(n int) []float32 { return make([]float32, n) }
	pages := func(rows, kvHeads, headDim int) *[2]cpu.PagedKV {
		var kv [2]cpu.PagedKV
		for i := range kv {
			kv[i] = cpu.PagedKV{PageRows: rows, Heads: kvHeads, HeadDim: headDim, F32: [][]float32{f(rows * kvHeads * headDim)}}
		}
		return &kv
	}
	calls := []struct {
		name string
		call func(b Backend) error
	}{
		{"MatMulBF16 short out", func(b Backend) error { return b.MatMulBF16(f(5), f(6), make([]uint16, 6), 2, 3, 2) }},
		{"MatMulBF16 short w", func(b Backend) error { return b.MatMulBF16(f(6), f(4), make([]uint16, 5), 2, 3, 2) }},
		{"MatMulBF16 negative k", func(b Backend) error { return b.MatMulBF16(f(6), f(4), make([]uint16, 6), 2, 3, -2) }},
		{"RMSNorm short w", func(b Backend) error { return b.RMSNorm(f(8), f(8), f(3), 2, 4, 1e-6) }},
		{"RMSNorm short out", func(b Backend) error { return b.RMSNorm(f(7), f(8), f(4), 2, 4, 1e-6) }},
		{"RoPE odd headDim", func(b Backend) error { return b.RoPE(f(10), 2, 1, 5, []int{0, 1}, 1e4) }},
		{"RoPE negative position", func(b Backend) error { return b.RoPE(f(8), 2, 1, 4, []int{0, -1}, 1e4) }},
		{"RoPE short pos", func(b Backend) error { return b.RoPE(f(8), 2, 1, 4, []int{0}, 1e4) }},
		{"RoPE short x", func(b Backend) error { return b.RoPE(f(7), 2, 1, 4, []int{0, 1}, 1e4) }},
		{"SiLUMul short up", func(b Backend) error { return b.SiLUMul(f(4), f(3)) }},
		{"Add short src", func(b Backend) error { return b.Add(f(4), f(3)) }},
		{"AddBias short x", func(b Backend) error { return b.AddBias(f(7), f(4), 2) }},
		{"Embed id past vocab", func(b Backend) error { return b.Embed(f(4), make([]uint16, 6), []int32{1, 3}, 2) }},
		{"Embed negative id", func(b Backend) error { return b.Embed(f(4), make([]uint16, 12), []int32{-1, 0}, 2) }},
		{"Embed short out", func(b Backend) error { return b.Embed(f(3), make([]uint16, 12), []int32{1, 0}, 2) }},
		{"Attention kvHeads not dividing heads", func(b Backend) error {
			return b.Attention(f(24), f(24), pages(4, 2, 4), 2, 0, 2, 3, 2, 4, cpu.Mask{Kind: cpu.Causal})
		}},
		{"Attention more keys than rows", func(b Backend) error {
			return b.Attention(f(16), f(16), pages(4, 2, 4), 2, 3, 5, 2, 2, 4, cpu.Mask{Kind: cpu.Causal})
		}},
		{"Attention pages of another width", func(b Backend) error {
			return b.Attention(f(8), f(8), pages(4, 2, 4), 2, 0, 2, 2, 2, 2, cpu.Mask{Kind: cpu.Causal})
		}},
		{"Attention block 0", func(b Backend) error {
			return b.Attention(f(16), f(16), pages(4, 2, 4), 2, 0, 2, 2, 2, 4, cpu.Mask{Kind: cpu.BlockCausal})
		}},
		{"Attention short q", func(b Backend) error {
			return b.Attention(f(16), f(15), pages(4, 2, 4), 2, 0, 2, 2, 2, 4, cpu.Mask{Kind: cpu.Causal})
		}},
		{"Attention nil kv", func(b Backend) error {
			return b.Attention(f(16), f(16), nil, 2, 0, 2, 2, 2, 4, cpu.Mask{Kind: cpu.Causal})
		}},
		{"RowStats short stats", func(b Backend) error { return b.RowStats(make([]RowStat, 1), f(6), 2, 3) }},
		{"RowStats short logits", func(b Backend) error { return b.RowStats(make([]RowStat, 2), f(5), 2, 3) }},
		{"RowStats vocab 0", func(b Backend) error { return b.RowStats(make([]RowStat, 1), nil, 1, 0) }},
	}
	cs := make([]testCase, len(calls))
	for i, c := range calls {
		cs[i] = testCase{name: c.name, check: func(b Backend, r *results) {
			if c.call(b) == nil {
				r.fail(fmt.Errorf("%s returned no error", b.Name()))
			}
		}}
	}
	return cs
}
