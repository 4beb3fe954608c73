package engine_test

import (
	"context"
	"fmt"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

// FlashBlock computes each block's attention over the committed prefix
// once, at its first denoising step, and reuses it on the block's later
// steps (approximate: here the reply is the same).
func ExampleEngine_Generate_flashBlock() {
	e, err := engine.Shared("../testdata/models/demo-text", engine.Options{})
	if err != nil {
		panic(err)
	}
	req := engine.Request{Messages: []tokenizer.Message{{Role: "user", Content: "Repeat exactly: apple breeze kettle cloud"}},
		MaxNewTokens: 32, Policy: decode.Threshold{Tau: 0.9}}
	exact, err := e.Generate(context.Background(), req)
	if err != nil {
		panic(err)
	}
	req.FlashBlock = true
	flash, err := e.Generate(context.Background(), req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q %q\n", exact.Text, flash.Text)
	// Output: "apple breeze kettle cloud" "apple breeze kettle cloud"
}
