package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestDuplicateKeys: a key repeated within one object, anywhere in the
// document, is a CompileError naming the key and its pointer. Before,
// the scaffold took the first "a" (a string) and the validator, through
// encoding/json, the last (an integer), so every extraction failed.
func TestDuplicateKeys(t *testing.T) {
	many := make([]string, 20)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":{"type":"string"}`, i)
	}
	cases := []struct {
		name, schema, pointer, key string
	}{
		{"property", `{"type":"object","properties":{"a":{"type":"string"},"a":{"type":"integer"}}}`, "/properties/a", "a"},
		{"keyword", `{"type":"string","type":"integer"}`, "/type", "type"},
		{"escaped spelling", `{"type":"object","properties":{"a":{"type":"string"},"\u0061":{"type":"integer"}}}`, "/properties/a", "a"},
		{"in $defs", `{"$ref":"#/$defs/x","$defs":{"x":{"type":"string"},"x":{"type":"integer"}}}`, "/$defs/x", "x"},
		{"in a const value", `{"const":{"k":1,"k":2}}`, "/const/k", "k"},
		{"in an enum value", `{"enum":[1,{"k":1,"j":2,"k":3}]}`, "/enum/1/k", "k"},
		{"in an annotation", `{"type":"string","examples":[{"a/b":1,"a/b":2}]}`, "/examples/0/a~1b", "a/b"},
		{"in a large object", `{"type":"object","properties":{` + strings.Join(many, ",") + `,"k7":{"type":"integer"}}}`, "/properties/k7", "k7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile([]byte(c.schema))
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a CompileError", err)
			}
			if ce.Keyword != "duplicate key" || ce.Pointer != c.pointer || !strings.Contains(ce.Msg, fmt.Sprintf("%q", c.key)) {
				t.Fatalf("%v: keyword %q pointer %q, want duplicate key %q at %q", err, ce.Keyword, ce.Pointer, c.key, c.pointer)
			}
		})
	}
}

// TestScaffoldAgreesWithValidator: where a $ref resolves, the scaffold and
// the validator read the same subschema, so the scaffold's kind of value is
// one the validator accepts; where they would resolve differently the
// schema is refused.
func TestScaffoldAgreesWithValidator(t *testing.T) {
	cases := []struct {
		name, schema string
		kind         Kind   // the scaffold's root, when it compiles
		valid        string // an instance of that kind
		keyword      string // the CompileError's, when it does not
	}{
		// The validator percent-decodes the fragment: "a%20b" is "a b".
		{"percent-encoded $ref", `{"$defs":{"a b":{"type":"integer"},"a%20b":{"type":"string"}},"$ref":"#/$defs/a%20b"}`, Number, "1", ""},
		{"escaped slash", `{"$defs":{"a/b":{"type":"integer"}},"$ref":"#/$defs/a~1b"}`, Number, "1", ""},
		// Below a nested $id the validator resolves "#/..." in that resource.
		{"nested $id", `{"type":"object","properties":{"x":{"$id":"http://other.example/s.json","type":"object","properties":{"y":{"$ref":"#/$defs/d"}},"$defs":{"d":{"type":"integer"}}}},"$defs":{"d":{"type":"string"}}}`, 0, "", "$id"},
		{"root $id", `{"$id":"http://a.example/root.json","type":"object","properties":{"c":{"$ref":"#/$defs/c"}},"$defs":{"c":{"enum":["a",1]}}}`, Object, `{"c":"a"}`, ""},
		{"bad percent-encoding", `{"$defs":{"a":{"type":"integer"}},"$ref":"#/$defs/%zz"}`, 0, "", "$ref"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if c.keyword != "" {
				var ce *CompileError
				if !errors.As(err, &ce) || ce.Keyword != c.keyword {
					t.Fatalf("error %v, want a %s CompileError", err, c.keyword)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Root.Kind != c.kind {
				t.Fatalf("scaffold root is a %v, want a %v", s.Root.Kind, c.kind)
			}
			if err := s.Validate([]byte(c.valid)); err != nil {
				t.Fatalf("the validator rejects %s, a value of the scaffold's kind: %v", c.valid, err)
			}
		})
	}
}

// TestValidatorDocument: the validator compiles the parsed document itself,
// equal to what encoding/json makes of the bytes.
func TestValidatorDocument(t *testing.T) {
	for _, c := range corpus(t) {
		root, err := parseJSON(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want, err := jsonschema.UnmarshalJSON(strings.NewReader(string(c.src)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := root.doc(); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: document %v, encoding/json %v", c.name, got, want)
		}
	}
}
