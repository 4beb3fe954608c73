package cpu_test

import (
	"fmt"

	"dlmstream/kernels/cpu"
)

func ExampleAttentionBatch() {
	// Two sequences of one head (headDim 2) against their own keys.
	one := cpu.AttentionSeq{Q: []float32{1, 0}, K: []float32{1, 0, 0, 1}, V: []float32{1, 2, 3, 4}, NQ: 1, QPos0: 1, NK: 2, Mask: cpu.Mask{Kind: cpu.Causal}}
	two := cpu.AttentionSeq{Q: []float32{0, 0}, K: []float32{5, 5}, V: []float32{7, 8}, NQ: 1, QPos0: 0, NK: 1, Mask: cpu.Mask{Kind: cpu.Causal}}
	one.Out, two.Out = make([]float32, 2), make([]float32, 2)
	cpu.AttentionBatch([]cpu.AttentionSeq{one, two}, 1, 1, 2)
	fmt.Printf("%.3f %.3f\n", one.Out, two.Out)
	// Output: [1.660 2.660] [7.000 8.000]
}

func ExampleMergeAttention() {
	// One query (one head, headDim 2) over four keys, split at key 2:
	// attention over [0, 2) and over [2, 4), each with its log-sum-exp,
	// merge into attention over all four (FlashBlock).
	q := []float32{1, 0}
	k := []float32{1, 0, 0, 1, 1, 1, 0, 0}
	v := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	seq := func(k0, nk int) cpu.AttentionSeq {
		return cpu.AttentionSeq{Q: q, K: k, V: v, NQ: 1, QPos0: 3, NK: nk, K0: k0, Mask: cpu.Mask{Kind: cpu.Causal},
			Out: make([]float32, 2), LSE: make([]float32, 1)}
	}
	prefix, block, full := seq(0, 2), seq(2, 4), seq(0, 4)
	cpu.AttentionBatch([]cpu.AttentionSeq{prefix, block, full}, 1, 1, 2)
	merged := make([]float32, 2)
	cpu.MergeAttention(merged, prefix.Out, prefix.LSE, block.Out, block.LSE, nil, 1, 1, 2)
	fmt.Printf("merged %.3f, full %.3f\n", merged, full.Out)
	// Output: merged [3.660 4.660], full [3.660 4.660]
}
