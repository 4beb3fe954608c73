package schema

import (
	"context"
	"testing"

	"dlmstream/engine"
)

// TestExtractLLaDA: S^3's scaffold and prompt on LLaDA (bidirectional,
// unshifted, full-canvas decoding): an object, a union and a dictionary extract valid JSON on the tiny random LLaDA checkpoint
// (256 positions: the pre-flight refuses the invoice schema's prompt).
func TestExtractLLaDA(t *testing.T) {
	e, err := engine.New("../../testdata/models/tiny-llada", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, doc := range []string{
		`{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":99},"ok":{"type":"boolean"}},"required":["n","ok"]}`,
		`{"oneOf":[{"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":9}},"required":["a"]},{"type":"object","properties":{"b":{"type":"boolean"}},"required":["b"]}]}`,
		`{"type":"object","additionalProperties":{"type":"integer","minimum":0,"maximum":9},"minProperties":2,"maxProperties":2}`,
	} {
		s, err := Compile([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Extract(context.Background(), e, "card 1234; a 1, b 2", s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatalf("%s: %v", res.JSON, err)
		}
		t.Logf("%s (rounds %d, forwards %d)", res.JSON, res.Rounds, res.Forwards)
	}
}
