package schema

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"dlmstream/engine"
)

// TestDynamicEntries: objects with keys the schema does not list —
// dictionaries (additionalProperties or patternProperties schemas, with
// propertyNames) and minProperties beyond the listed properties — compile,
// lay out key slots, and extract valid JSON on the three model families,
// with as many entries as minProperties needs and no key twice.
func TestDynamicEntries(t *testing.T) {
	engines := map[string]*engine.Engine{"tiny-sdar": tinyEngine(t)}
	for _, name := range []string{"tiny-fastdllm", "tiny-qwen3"} {
		e, err := engine.New("../../testdata/models/"+name, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		engines[name] = e
	}
	cases := []struct {
		name, schema string
		min          int // entries at least (at the path "")
		compileErr   string
	}{
		{"dictionary of strings", `{"type":"object","additionalProperties":{"type":"string","maxLength":8}}`, 0, ""},
		{"dictionary with minProperties", `{"type":"object","additionalProperties":{"type":"integer","minimum":0,"maximum":9},"minProperties":2}`, 2, ""},
		{"patternProperties keys", `{"type":"object","patternProperties":{"^x-[a-z]+$":{"type":"boolean"}},"additionalProperties":false,"minProperties":1}`, 1, ""},
		{"propertyNames pattern", `{"type":"object","propertyNames":{"pattern":"^[A-Z]{2,3}$"},"additionalProperties":{"type":"number","minimum":0,"maximum":100},"minProperties":2,"maxProperties":3}`, 2, ""},
		{"propertyNames enum", `{"type":"object","propertyNames":{"enum":["red","green","blue"]},"additionalProperties":{"type":"integer","minimum":0,"maximum":255},"minProperties":2}`, 2, ""},
		{"listed and dynamic", `{"type":"object","properties":{"id":{"type":"integer","minimum":1,"maximum":9}},"required":["id"],"minProperties":3}`, 3, ""},
		{"no key may be added", `{"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":false,"minProperties":2}`, 0, "minProperties"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if c.compileErr != "" {
				var ce *CompileError
				if !errors.As(err, &ce) || ce.Keyword != c.compileErr {
					t.Fatalf("err = %v, want a CompileError for %s", err, c.compileErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, e := range engines {
				res, err := Extract(context.Background(), e, "Colours: red 12, green 200; codes AB=3, XYZ=40; x-debug on.", s, Options{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := s.Validate(res.JSON); err != nil {
					t.Fatalf("%s: %s does not validate: %v", name, res.JSON, err)
				}
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(res.JSON, &obj); err != nil || len(obj) < c.min {
					t.Fatalf("%s: %s: %d entries, want at least %d (%v)", name, res.JSON, len(obj), c.min, err)
				}
				t.Logf("%s: %s (rounds %d)", name, res.JSON, res.Rounds)
			}
		})
	}
}

// TestNoValueLeftOut: an optional property, or a dictionary's entries,
// whose enum admits no value of its own type is left out (the output
// without it validates); a required one is a compile error.
func TestNoValueLeftOut(t *testing.T) {
	for _, c := range []struct {
		name, schema string
	}{
		{"optional property", `{"type":"object","properties":{"a":{"type":"integer","enum":["x"]},"b":{"type":"boolean"}},"required":["b"]}`},
		{"dictionary entries", `{"type":"object","additionalProperties":{"type":"array","enum":["x"]}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Root.Props) > 1 || s.Root.Dyn != nil {
				t.Errorf("props %v, dynamic %v: the property that admits no value is laid out", s.Root.Props, s.Root.Dyn)
			}
			res, err := Extract(context.Background(), tinyEngine(t), "b is true", s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(res.JSON); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := Compile([]byte(`{"type":"object","properties":{"a":{"type":"integer","enum":["x"]}},"required":["a"]}`)); err == nil {
		t.Fatal("a required property that admits no value compiled")
	}
}
