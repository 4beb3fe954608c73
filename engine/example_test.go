package engine_test

import (
	"context"
	"fmt"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

// Generate a reply with the bundled tiny SDAR checkpoint (random weights,
// so the text is gibberish), committing tokens above 0.9 confidence.
func ExampleEngine_Generate() {
	e, err := engine.Shared("../testdata/models/tiny-sdar", engine.Options{})
	if err != nil {
		panic(err)
	}
	res, err := e.Generate(context.Background(), engine.Request{
		Messages:     []tokenizer.Message{{Role: "user", Content: "Hello"}},
		MaxNewTokens: 8,
		Policy:       decode.Threshold{Tau: 0.9},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Tokens, "tokens")
	// Output: 8 tokens
}
