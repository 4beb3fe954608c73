package schema

import (
	"context"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
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

// Options.Canvas reaches full-canvas decoding: the scaffold decodes with
// its block length and AdaBlock (a variable length is dropped: the
// scaffold fixes its canvas), and Measure's unscaffolded generation with
// a variable length too (ρ-EOS with a bar every end-of-text density
// clears shrinks its canvas, twice the scaffold's when fixed).
func TestCanvasOptionsLLaDA(t *testing.T) {
	e, err := engine.New("../../testdata/models/tiny-llada", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := Compile([]byte(`{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":99},"ok":{"type":"boolean"}},"required":["n","ok"]}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []Case{{Input: "card 1234; a 1, b 2"}, {Input: "n is 7, ok"}}
	fixed, err := Measure(context.Background(), e, s, cases, Options{}, true)
	if err != nil {
		t.Fatal(err)
	}
	rho := Options{Canvas: decode.CanvasParams{BlockLen: 8, Length: &decode.RhoEOS{Init: 16, Lo: 0, Hi: 1e-9}}}
	got, err := Measure(context.Background(), e, s, cases, rho, true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Valid != len(cases) || len(got.Errors) > 0 {
		t.Fatalf("with a variable length: %d/%d valid, errors %v", got.Valid, len(cases), got.Errors)
	}
	if got.FreeTokens >= fixed.FreeTokens {
		t.Errorf("the unscaffolded generation ignored Canvas: %d forwards, %d tokens either way", got.FreeForwards, got.FreeTokens)
	}
	if got.MinForwards <= 0 || got.MinForwards > got.Forwards || got.FreeMinForwards > got.FreeForwards {
		t.Errorf("floors %d (of %d forwards), %d (of %d)", got.MinForwards, got.Forwards, got.FreeMinForwards, got.FreeForwards)
	}
}
