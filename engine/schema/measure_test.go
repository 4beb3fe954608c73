package schema

import (
	"context"
	"strings"
	"testing"
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
