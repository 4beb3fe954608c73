package schema_test

import (
	"context"
	"fmt"
	"log"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/schema"
)

func ExampleExtract() {
	e, err := engine.New("../../testdata/models/tiny-sdar", engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	s, err := schema.Compile([]byte(`{
		"type": "object",
		"properties": {
			"name": {"type": "string", "maxLength": 40},
			"age": {"type": "integer", "minimum": 0, "maximum": 130},
			"role": {"enum": ["admin", "editor", "viewer"]},
			"email": {"type": ["string", "null"], "format": "email"}
		},
		"required": ["name", "age", "role"],
		"additionalProperties": false
	}`))
	if err != nil {
		log.Fatal(err)
	}
	res, err := schema.Extract(context.Background(), e, "Ada Lovelace, 36, edits the wiki.", s,
		schema.Options{Policy: decode.Threshold{Tau: 0.9}})
	if err != nil {
		log.Fatal(err)
	}
	// tiny-sdar has random weights: the values are gibberish, the JSON is valid.
	fmt.Println(s.Validate(res.JSON) == nil)
	// Output: true
}
