package transforms_test

import (
	"fmt"

	"dlmstream/transforms"
)

func ExampleValidateSchema() {
	s, err := transforms.ValidateSchema([]byte(`{"type": "object", "properties": {"title": {"type": "string"}}}`))
	fmt.Println(s, err)
	_, err = transforms.ValidateSchema([]byte(`{"type": "objekt"}`))
	fmt.Println(err)
	// Output:
	// {"type":"object","properties":{"title":{"type":"string"}}} <nil>
	// decode: invalid-schema: $.type: unknown type "objekt"
}

func ExampleResample() {
	x := make([]float32, 48000) // 1 s of silence at 48 kHz
	fmt.Println(len(transforms.Resample(x, 48000, transforms.TargetSampleRate)))
	// Output: 16000
}
