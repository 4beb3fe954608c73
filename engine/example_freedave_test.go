package engine_test

import (
	"context"
	"fmt"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

// FreeDave gives one token per step's reply in fewer forwards: each
// forward also verifies the drafted next steps, as branches over forks of
// the request's KV cache.
func ExampleEngine_Generate_freeDave() {
	e, err := engine.Shared("../testdata/models/demo-text", engine.Options{})
	if err != nil {
		panic(err)
	}
	req := engine.Request{Messages: []tokenizer.Message{{Role: "user", Content: "Repeat exactly: apple breeze kettle cloud"}}, MaxNewTokens: 32}
	req.Policy = decode.StaticTopK{Steps: e.Arch().Block} // one token per step
	one, err := e.Generate(context.Background(), req)
	if err != nil {
		panic(err)
	}
	req.Policy = decode.FreeDave{}
	fd, err := e.Generate(context.Background(), req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q %q same=%v fewer forwards=%v\n", one.Text, fd.Text, one.Text == fd.Text, fd.Forwards < one.Forwards)
	// Output: "apple breeze kettle cloud" "apple breeze kettle cloud" same=true fewer forwards=true
}

// FreeDave over a threshold gives the threshold's reply in fewer forwards:
// a step that commits several tokens jumps to the drafted state holding
// them.
func ExampleEngine_Generate_freeDaveOverThreshold() {
	e, err := engine.Shared("../testdata/models/demo-text", engine.Options{})
	if err != nil {
		panic(err)
	}
	req := engine.Request{Messages: []tokenizer.Message{{Role: "user", Content: "Sort in ascending order: 70, 99, 35, 52"}}, MaxNewTokens: 32}
	req.Policy = decode.Threshold{Tau: 0.9}
	th, err := e.Generate(context.Background(), req)
	if err != nil {
		panic(err)
	}
	req.Policy = decode.FreeDave{Of: decode.Threshold{Tau: 0.9}}
	fd, err := e.Generate(context.Background(), req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q same=%v fewer forwards=%v\n", fd.Text, th.Text == fd.Text, fd.Forwards < th.Forwards)
	// Output: "35, 52, 70, 99" same=true fewer forwards=true
}
