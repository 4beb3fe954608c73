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
