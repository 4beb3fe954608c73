package cpu_test

import (
	"fmt"

	"dlmstream/kernels/cpu"
)

// A linear layer with bf16 weights: y = x·wᵀ for m=2 tokens, k=3 inputs,
// n=2 outputs.
func ExampleMatMulBF16() {
	w := make([]uint16, 2*3) // [n=2, k=3], nn.Linear.weight layout
	cpu.F32ToBF16(w, []float32{
		1, 0, -1, // output 0
		0.5, 0.5, 0.5, // output 1
	})
	x := []float32{ // [m=2, k=3]
		1, 2, 3,
		4, 5, 6,
	}
	y := make([]float32, 2*2) // [m=2, n=2]
	cpu.MatMulBF16(y, x, w, 2, 2, 3)
	fmt.Println(y)
	// Output: [-2 3 -2 7.5]
}

// The same layer with its weights packed once at load, in the layout of the
// active path (cpu.PreferPacked says whether it is faster there). On the
// avx2 path the packed matmul is exact; on avx512bf16panel it rounds the
// activations to bf16 (1.01 would become 1.0078125), as a PyTorch bf16
// matmul does. These activations are exact in bf16, so both print the same.
func ExampleMatMulPacked() {
	w := make([]uint16, 2*3) // [n=2, k=3]
	cpu.F32ToBF16(w, []float32{
		1, 0, -1,
		0.5, 0.5, 0.5,
	})
	pw := cpu.PackBF16(w, 2, 3) // once, at load; w may be dropped after
	x := []float32{
		1.25, 2, 3,
		4, 5, 6,
	}
	y := make([]float32, 2*2)
	cpu.MatMulPacked(y, x, pw, 2)
	fmt.Println(y)
	// Output: [-1.75 3.125 -2 7.5]
}
