package engine_test

import (
	"context"
	"fmt"

	"dlmstream/engine"
)

// A Qwen2.5-VL prompt carries its M-RoPE positions: here two text tokens,
// a 2×2 image (rows from a vision tower; zeros stand in) at placeholder id 4,
// and two text tokens, on the bundled tiny-qwen25vl (random weights).
// vision.RopeIndex computes such positions for real prompts.
func ExampleRequest_positions() {
	e, err := engine.Shared("../testdata/models/tiny-qwen25vl", engine.Options{})
	if err != nil {
		panic(err)
	}
	hidden := e.Model.Config().HiddenSize
	res, err := e.Generate(context.Background(), engine.Request{
		Tokens: []int32{1, 399, 4, 4, 4, 4, 400, 17},
		Media:  []engine.Media{{Token: 4, Rows: make([]float32, 4*hidden)}},
		Positions: [3][]int{
			{0, 1, 2, 2, 2, 2, 4, 5}, // temporal
			{0, 1, 2, 2, 3, 3, 4, 5}, // height
			{0, 1, 2, 3, 2, 3, 4, 5}, // width
		},
		MaxNewTokens: 8,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Tokens, "tokens")
	// Output: 8 tokens
}
