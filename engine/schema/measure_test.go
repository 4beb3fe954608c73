package schema

import (
	"context"
	"strings"
	"testing"

	"dlmstream/engine/decode"
)

// A failing extraction is a refusal that Measure records and moves past;
// a cancelled context stops it.
func TestMeasureRefusals(t *testing.T) {
	e := tinyEngine(t)
	// 64 required items of three strings each: a canvas longer than
	// tiny-sdar's 2048 positions.
	long := `{"type":"array","minItems":64,"maxItems":64,"items":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}},"required":["a","b","c"],"additionalProperties":false}}`
	short := `{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name, schema string
		ctx          context.Context
		wantErr      bool
		wantRefused  int
		wantValid    int
	}{
		{"over the context", long, context.Background(), false, 2, 0},
		{"valid", short, context.Background(), false, 0, 2},
		{"cancelled", short, cancelled, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Measure(tt.ctx, e, s, []Case{{Input: "yes"}, {Input: "no"}}, Options{}, false)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if r.Refused != tt.wantRefused || r.Valid != tt.wantValid || len(r.Errors) != tt.wantRefused {
				t.Errorf("refused %d, valid %d, errors %q; want refused %d, valid %d", r.Refused, r.Valid, r.Errors, tt.wantRefused, tt.wantValid)
			}
			for _, msg := range r.Errors {
				if !strings.Contains(msg, "max_position_embeddings") {
					t.Errorf("refusal %q, want the context limit", msg)
				}
			}
		})
	}
}

// Options.Autoregressive applies to the unscaffolded baseline too: one
// token per forward there, as in the scaffold.
func TestMeasureAutoregressiveBaseline(t *testing.T) {
	e := tinyEngine(t)
	s, err := Compile([]byte(`{"type":"object","properties":{"name":{"type":"string","maxLength":8}},"required":["name"],"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ar := range []bool{false, true} {
		// One step per block: several tokens per forward unless autoregressive.
		opts := Options{Policy: decode.StaticTopK{Steps: 1}, Autoregressive: ar}
		r, err := Measure(context.Background(), e, s, []Case{{Input: "Ada"}}, opts, true)
		if err != nil {
			t.Fatal(err)
		}
		if r.FreeTokens == 0 {
			t.Fatalf("autoregressive %v: no unscaffolded tokens (errors %q)", ar, r.Errors)
		}
		if ar && r.FreeForwards != r.FreeTokens {
			t.Errorf("autoregressive baseline: %d tokens in %d forwards, want one per forward", r.FreeTokens, r.FreeForwards)
		}
		if !ar && r.FreeForwards >= r.FreeTokens {
			t.Errorf("block baseline: %d tokens in %d forwards, want several per forward", r.FreeTokens, r.FreeForwards)
		}
		t.Logf("autoregressive %v: %d tokens in %d forwards", ar, r.FreeTokens, r.FreeForwards)
	}
}
