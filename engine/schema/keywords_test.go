package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

// Real-world schema forms compile, and every random decoding of them
// validates (choices and union branches picked at random, up front and in
// context). want is a substring every output holds, or "" for none.
func TestRealWorldForms(t *testing.T) {
	cases := []struct {
		name, schema, want string
	}{
		{"annotations and vendor keys", `{"type":"object","id":"x","self":{"a":1},"readonly":true,"name":"n","x-order":3,"nullable":true,"discriminator":{"propertyName":"k"},"properties":{"a":{"type":"string","x-go-type":"string","example":"e"}},"required":["a"]}`, `"a":`},
		{"draft-04", `{"$schema":"http://json-schema.org/draft-04/schema#","id":"http://example.com/s.json","type":"object","definitions":{"n":{"type":"number","minimum":1.5,"exclusiveMinimum":true,"maximum":2}},"properties":{"n":{"$ref":"#/definitions/n"}},"required":["n"]}`, `"n":`},
		{"draft-04 without $schema", `{"type":"object","properties":{"n":{"type":"integer","minimum":0,"exclusiveMinimum":true,"maximum":5,"exclusiveMaximum":true}},"required":["n"]}`, `"n":`},
		{"draft-06", `{"$schema":"http://json-schema.org/draft-06/schema#","type":"object","properties":{"n":{"type":"integer","exclusiveMinimum":0}},"required":["n"]}`, `"n":`},
		{"draft-07 with tuple", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"array","items":[{"type":"string","maxLength":4},{"type":"integer"}],"additionalItems":false,"minItems":2}`, ``},
		{"ref to the root $id", `{"$id":"https://example.com/s.json","type":"object","$defs":{"a":{"type":"boolean"}},"properties":{"a":{"$ref":"https://example.com/s.json#/$defs/a"}},"required":["a"]}`, `"a":`},
		{"anchor", `{"type":"object","$defs":{"a":{"$anchor":"flag","type":"boolean"}},"properties":{"a":{"$ref":"#flag"}},"required":["a"]}`, `"a":`},
		{"unknown $schema", `{"$schema":"https://spec.openapis.org/oas/3.1/dialect/base","type":"object","properties":{"a":{"type":"string"}}}`, ``},
		{"no type", `{"properties":{"a":{"maxLength":3},"b":{"minimum":2,"maximum":3},"c":{}},"required":["a","b","c"]}`, `"c":`},
		{"true and false", `{"type":"object","properties":{"a":true,"b":false},"required":["a"]}`, `"a":`},
		{"ref beside keywords", `{"$defs":{"s":{"type":"string","maxLength":8}},"type":"object","properties":{"a":{"$ref":"#/$defs/s","minLength":2,"description":"d"}},"required":["a"]}`, `"a":`},
		{"allOf", `{"allOf":[{"type":"object","properties":{"a":{"type":"integer","minimum":0}},"required":["a"]},{"properties":{"a":{"maximum":9},"b":{"type":"string"}},"required":["b"]}]}`, `"b":`},
		{"allOf closed", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false},{"properties":{"b":{"type":"string"}}}]}`, ``},
		{"anyOf objects", `{"type":"object","properties":{"shape":{"anyOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number","minimum":0}},"required":["kind","r"]},{"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"integer"}},"required":["kind","side"]}]}},"required":["shape"]}`, `"kind":`},
		{"oneOf exclusive", `{"type":"object","properties":{"p":{"oneOf":[{"type":"object","properties":{"card":{"type":"string"}},"required":["card"],"additionalProperties":false},{"type":"object","properties":{"iban":{"type":"string"}},"required":["iban"],"additionalProperties":false}]}},"required":["p"]}`, `"p":`},
		{"anyOf scalars", `{"type":"object","properties":{"v":{"anyOf":[{"type":"string","maxLength":5},{"type":"integer","minimum":0},{"type":"boolean"}]}},"required":["v"]}`, `"v":`},
		{"nullable union", `{"type":"object","properties":{"v":{"oneOf":[{"type":"string","format":"date"},{"type":"null"}]}},"required":["v"]}`, `"v":`},
		{"union of enums", `{"type":"object","properties":{"v":{"oneOf":[{"const":"a","title":"A"},{"const":"b","title":"B"},{"enum":["c","a"]}]}},"required":["v"]}`, `"v":`},
		{"union in array items", `{"type":"array","items":{"anyOf":[{"type":"string","maxLength":3},{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}]},"minItems":1,"maxItems":3}`, ``},
		{"nested unions", `{"anyOf":[{"type":"object","properties":{"x":{"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]}},"required":["x"]},{"type":"string","maxLength":4}]}`, ``},
		{"base beside union", `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"],"anyOf":[{"properties":{"a":{"type":"integer"}},"required":["a"]},{"properties":{"b":{"type":"boolean"}},"required":["b"]}]}`, `"id":`},
		{"additionalProperties schema", `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"integer"},"required":["a","n"]}`, `"n":`},
		{"patternProperties", `{"type":"object","properties":{"x-a":{"type":"string"}},"patternProperties":{"^x-":{"maxLength":3}},"required":["x-a"]}`, `"x-a":`},
		{"propertyNames", `{"type":"object","properties":{"ok":{"type":"string"},"Bad":{"type":"string"}},"propertyNames":{"pattern":"^[a-z]+$"}}`, ``},
		{"min and max properties", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}},"minProperties":1,"maxProperties":2}`, `"a":`},
		{"dependentRequired", `{"type":"object","properties":{"card":{"type":"string"},"cvc":{"type":"string","maxLength":4}},"dependentRequired":{"card":["cvc"]}}`, ``},
		{"uniqueItems", `{"type":"array","items":{"enum":["a","b","c"]},"uniqueItems":true,"maxItems":3}`, ``},
		{"array without items", `{"type":"object","properties":{"tags":{"type":"array","maxItems":2}},"required":["tags"]}`, `"tags":`},
		{"prefixItems", `{"type":"array","prefixItems":[{"type":"number"},{"type":"number"}],"items":false,"minItems":2}`, ``},
		{"recursive tree", `{"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"label":{"type":"string","maxLength":6},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["label"]}}}`, `"label":`},
		{"recursive root", `{"type":"object","properties":{"name":{"type":"string"},"next":{"$ref":"#"}},"required":["name"]}`, `"name":`},
		{"formats", `{"type":"object","properties":{"u":{"format":"uuid"},"ip":{"type":"string","format":"ipv4"},"h":{"type":"string","format":"hostname"},"t":{"type":"string","format":"time"},"d":{"type":"string","format":"duration"},"r":{"type":"string","format":"uri-reference"},"c":{"type":"string","format":"color"}},"required":["u","ip","h","t","d","r","c"]}`, `"u":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, out := range decodeRandomly(t, c.schema, 12) {
				if !json.Valid([]byte(out)) || !strings.Contains(out, c.want) {
					t.Fatalf("output %s, want it to hold %q", out, c.want)
				}
			}
		})
	}
}

// Draft reports the draft a document is read as: its $schema, else what
// its keywords show.
func TestDraft(t *testing.T) {
	tests := []struct {
		name, schema string
		want         int
	}{
		{"draft-04 $schema", `{"$schema":"http://json-schema.org/draft-04/schema#","type":"string"}`, 4},
		{"draft-06 $schema", `{"$schema":"http://json-schema.org/draft-06/schema#","type":"string"}`, 6},
		{"2019-09 $schema", `{"$schema":"https://json-schema.org/draft/2019-09/schema","type":"string"}`, 2019},
		{"boolean exclusiveMinimum", `{"type":"integer","minimum":0,"exclusiveMinimum":true}`, 4},
		{"definitions", `{"definitions":{"a":{"type":"string"}},"$ref":"#/definitions/a"}`, 7},
		{"unknown $schema, tuple items", `{"$schema":"https://example.com/dialect","type":"array","items":[{"type":"string"}]}`, 7},
		{"no marks", `{"type":"string"}`, 2020},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Draft(); got != tt.want {
				t.Errorf("Draft() = %d, want %d", got, tt.want)
			}
		})
	}
}
