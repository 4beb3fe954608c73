package schema

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// TestNot: the forms of `not` the scaffold honours compile to scaffolds
// whose outputs are valid against the schema as written (the validator
// checks the original `not`); the others are CompileErrors naming not.
func TestNot(t *testing.T) {
	cases := []struct {
		name, schema string
		absent       []string // properties that must not be in the output
		err          string   // CompileError pointer ("" compiles)
	}{
		{"forbidden property", `{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"}},"required":["b"],"not":{"required":["a"]}}`, []string{"a"}, ""},
		{"not all of two", `{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"boolean"}},"required":["a"],"not":{"required":["a","b"]}}`, []string{"b"}, ""},
		{"none of several", `{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"boolean"},"c":{"type":"boolean"}},"not":{"anyOf":[{"required":["a"]},{"required":["b"]}]}}`, []string{"a", "b"}, ""},
		{"allOf of required", `{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"boolean"}},"required":["a"],"not":{"allOf":[{"required":["a"]},{"required":["b"]}]}}`, []string{"b"}, ""},
		{"not null", `{"type":"object","properties":{"v":{"type":["string","null"],"maxLength":5,"not":{"type":"null"}}},"required":["v"]}`, nil, ""},
		{"not one enum value", `{"type":"object","properties":{"c":{"enum":["red","green","blue"],"not":{"const":"red"}}},"required":["c"]}`, nil, ""},
		{"not enum values of a boolean", `{"type":"object","properties":{"f":{"type":"boolean","not":{"enum":[true]}}},"required":["f"]}`, nil, ""},
		{"not {} is no value", `{"type":"object","properties":{"x":{"not":{}},"y":{"type":"boolean"}},"required":["y"]}`, []string{"x"}, ""},
		{"all required and forbidden", `{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"],"not":{"required":["a"]}}`, nil, "/not"},
		{"every value excluded", `{"enum":["a"],"not":{"const":"a"}}`, nil, "/not"},
		{"a free string kept from a value", `{"type":"string","not":{"const":"x"}}`, nil, "/not"},
		{"a pattern", `{"type":"string","not":{"pattern":"^x"}}`, nil, "/not"},
	}
	e := tinyEngine(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if c.err != "" {
				var ce *CompileError
				if !errors.As(err, &ce) || ce.Keyword != "not" || ce.Pointer != c.err {
					t.Fatalf("err = %v, want a not CompileError at %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for seed := range 3 {
				res, err := Extract(context.Background(), e, []string{"a b c red", "null x", "true false"}[seed], s, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Validate(res.JSON); err != nil {
					t.Fatalf("%s: %v", res.JSON, err)
				}
				var obj map[string]json.RawMessage
				json.Unmarshal(res.JSON, &obj)
				for _, a := range c.absent {
					if _, ok := obj[a]; ok {
						t.Errorf("%s holds %q", res.JSON, a)
					}
				}
			}
		})
	}
}

// TestIfThenElse: if/then/else is the union anyOf [allOf [if, then],
// allOf [not if, else]]; conditions on a discriminator (several in an
// allOf) compile, and every output satisfies the conditionals as written.
func TestIfThenElse(t *testing.T) {
	cases := []struct{ name, schema string }{
		{"discriminator", `{"type":"object","properties":{"kind":{"enum":["card","bank"]},"number":{"type":"string","maxLength":8},"iban":{"type":"string","maxLength":8}},"required":["kind"],
		  "if":{"properties":{"kind":{"const":"card"}}},"then":{"required":["number"]},"else":{"required":["iban"]}}`},
		{"allOf of conditionals", `{"type":"object","properties":{"kind":{"enum":["a","b","c"]},"x":{"type":"integer"},"y":{"type":"boolean"}},"required":["kind"],
		  "allOf":[{"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["x"]}},{"if":{"properties":{"kind":{"const":"b"}}},"then":{"required":["y"]}}]}`},
		{"then without if is ignored", `{"type":"object","properties":{"a":{"type":"boolean"}},"then":{"required":["zzz"]}}`},
		{"condition on a required flag", `{"type":"object","properties":{"on":{"type":"boolean"},"level":{"type":"integer","minimum":1,"maximum":5}},"required":["on"],
		  "if":{"properties":{"on":{"const":true}}},"then":{"required":["level"]},"else":{"not":{"required":["level"]}}}`},
	}
	e := tinyEngine(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range []string{"pay by card 1234", "bank transfer DE12", "kind b, y true", "on, level 3"} {
				res, err := Extract(context.Background(), e, in, s, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Validate(res.JSON); err != nil {
					t.Fatalf("%s: %v", res.JSON, err)
				}
			}
		})
	}
}
