package model_test

import (
	"fmt"

	"dlmstream/engine/model"
)

// The M-RoPE ids of a Qwen2.5-VL prompt: "<|vision_start|>", a 2×3 grid of
// image rows, then text. Tokens after the prompt continue at max id + 1.
func ExampleNewPositions() {
	p, err := model.NewPositions([3][]int{
		{0, 1, 1, 1, 1, 1, 1, 4, 5}, // temporal
		{0, 1, 1, 1, 2, 2, 2, 4, 5}, // height
		{0, 1, 2, 3, 1, 2, 3, 4, 5}, // width
	})
	if err != nil {
		panic(err)
	}
	t, h, w := p.At(5)
	fmt.Println("image row 5:", t, h, w)
	t, h, w = p.At(9)
	fmt.Println("first generated token:", t, h, w, "delta", p.Delta)
	// Output:
	// image row 5: 1 2 2
	// first generated token: 6 6 6 delta -3
}
