package schema

import (
	"errors"
	"slices"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, schema, keyword, pointer string
	}{
		{"not", `{"type":"object","properties":{"a":{"not":{"pattern":"^x"}}}}`, "not", "/properties/a/not"},
		{"contains", `{"type":"array","items":{"type":"string"},"contains":{"const":"x"}}`, "contains", "/contains"},
		{"recursive and required", `{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"c":{"$ref":"#/$defs/n"}},"required":["c"]}}}`, "$ref", "/$defs/n/properties/c/$ref"},
		{"unresolved", `{"$ref":"#/$defs/missing"}`, "$ref", "/$ref"},
		{"remote ref", `{"$ref":"https://example.com/s.json"}`, "$ref", "/$ref"},
		{"word boundary", `{"type":"string","pattern":"\\bfoo"}`, "pattern", "/pattern"},
		{"lookahead", `{"type":"string","pattern":"(?=a)"}`, "pattern", "/pattern"},
		{"if whose branches cannot be honoured", `{"type":"string","if":{"pattern":"^a"},"then":false}`, "not", "/if"},
		{"false schema required", `{"type":"object","properties":{"a":false},"required":["a"]}`, "false schema", "/properties/a"},
		{"dependentSchemas", `{"type":"object","dependentSchemas":{"a":{"required":["b"]}}}`, "dependentSchemas", "/dependentSchemas"},
		{"minProperties", `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false,"minProperties":2}`, "minProperties", "/minProperties"},
		{"empty range", `{"type":"integer","minimum":5,"exclusiveMaximum":5}`, "minimum", ""},
		{"multipleOf", `{"type":"number","multipleOf":0.123456789}`, "multipleOf", "/multipleOf"},
		{"required unknown", `{"type":"object","properties":{},"required":["x"],"additionalProperties":false}`, "required", "/required"},
		{"ref siblings that cannot merge", `{"$ref":"#/$defs/a","pattern":"b","$defs":{"a":{"type":"string","pattern":"a"}}}`, "allOf", ""},
		{"unions of unions in allOf past 64 pairs", `{"allOf":[{"anyOf":[{"type":"string","minLength":0},{"type":"string","minLength":1},{"type":"string","minLength":2},{"type":"string","minLength":3},{"type":"string","minLength":4},{"type":"string","minLength":5},{"type":"string","minLength":6},{"type":"string","minLength":7},{"type":"string","minLength":8}]},{"anyOf":[{"type":"string","maxLength":20},{"type":"string","maxLength":21},{"type":"string","maxLength":22},{"type":"string","maxLength":23},{"type":"string","maxLength":24},{"type":"string","maxLength":25},{"type":"string","maxLength":26},{"type":"string","maxLength":27},{"type":"string","maxLength":28}]}]}`, "allOf", "/allOf"},
		{"schema dependency", `{"type":"object","properties":{"a":{"type":"string"}},"dependencies":{"a":{"required":["b"]}}}`, "dependencies", "/dependencies/a"},
		{"escaped pointer", `{"type":"object","properties":{"a/b~c":{"not":{"minLength":3}}}}`, "not", "/properties/a~1b~0c/not"},
		{"not json", `{"type":`, "json", ""},
		{"enum of the wrong type", `{"type":"object","properties":{"a b":{"type":"integer","enum":["x","y"]}},"required":["a b"]}`, "enum", "/properties/a b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile([]byte(c.schema))
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a CompileError", err)
			}
			if ce.Keyword != c.keyword || ce.Pointer != c.pointer {
				t.Fatalf("%v: keyword %q pointer %q, want %q %q", err, ce.Keyword, ce.Pointer, c.keyword, c.pointer)
			}
		})
	}
}

func TestChoiceFilter(t *testing.T) {
	s, err := Compile([]byte(`{"type":"object","properties":{"k~/x":{"type":["string","null"],"maxLength":3,"enum":["abc","abcd",1,null]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Root.Props[0].Node.Alts; !slices.Equal(got, []string{`"abc"`, "null"}) {
		t.Fatalf("alternatives %v", got)
	}
}

func TestCompileTree(t *testing.T) {
	s, err := Compile([]byte(`{"type":"object","properties":{
		"z":{"type":["integer","null"],"minimum":0,"exclusiveMinimum":0},
		"a":{"$ref":"#/$defs/color"},
		"b":{"type":"boolean"},
		"c":{"const":{"k":1}},
		"d":{"type":"array","items":{"type":"string","maxLength":3},"minItems":1,"maxItems":2}},
		"required":["z","a"],
		"$defs":{"color":{"enum":["red","green",null]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Root
	if r.Kind != Object || len(r.Props) != 5 || r.Props[0].Name != "z" || !r.Props[0].Required || r.Props[2].Required {
		t.Fatalf("root %+v", r)
	}
	z := r.Props[0].Node
	if z.Kind != Number || !z.Integer || !z.Nullable || z.Min != "0" || !z.ExclMin {
		t.Fatalf("z %+v", z)
	}
	if a := r.Props[1].Node; a.Kind != Choice || !slices.Equal(a.Alts, []string{`"red"`, `"green"`, "null"}) || a.Ptr != "/$defs/color" {
		t.Fatalf("a %+v", a)
	}
	if b := r.Props[2].Node; b.Kind != Choice || !slices.Equal(b.Alts, []string{"true", "false"}) {
		t.Fatalf("b %+v", b)
	}
	if c := r.Props[3].Node; !slices.Equal(c.Alts, []string{`{"k":1}`}) {
		t.Fatalf("c %+v", c)
	}
	if d := r.Props[4].Node; d.Kind != Array || d.MinItems != 1 || d.MaxItems != 2 || d.Items.MaxLen != 3 {
		t.Fatalf("d %+v", d)
	}
}

// TestOutOfOrder commits slot tokens right to left and in a scattered
// order: every token the constraint allows must keep the slot completable,
// and every completion must be a valid value.
func TestOutOfOrder(t *testing.T) {
	tok, v := tinyVocab(t)
	id := func(s string) int32 {
		ids := tok.Encode(s)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens", s, len(ids))
		}
		return ids[0]
	}
	n := &Node{Kind: String, Pattern: `^[A-Z]{2}[0-9]{3}$`, MaxLen: -1}
	d, err := langFor(&Schema{}, n, v)
	if err != nil {
		t.Fatal(err)
	}
	M := v.mask
	allowed := func(toks []int32, k int) map[int32]bool {
		logits := make([]float32, v.size)
		d.restrict(toks, k, M, false, logits, negInf)
		out := map[int32]bool{}
		for t, l := range logits {
			if l == 0 {
				out[int32(t)] = true
			}
		}
		return out
	}
	// Width 6 with "7" committed at 4 and the pad at 5 (before anything
	// else): the value is 5 characters, so position 0 must be a letter and
	// position 2 a digit.
	toks := []int32{M, M, M, M, id("7"), v.pad}
	if a := allowed(toks, 0); !a[id("A")] || a[id("1")] || a[v.pad] {
		t.Fatalf("position 0 allows A %v, 1 %v, pad %v", a[id("A")], a[id("1")], a[v.pad])
	}
	if a := allowed(toks, 2); a[id("A")] || !a[id("1")] {
		t.Fatalf("position 2 allows A %v, 1 %v", a[id("A")], a[id("1")])
	}
	// A pad may not precede a committed character.
	toks = []int32{M, M, M, M, M, id("7")}
	if a := allowed(toks, 3); a[v.pad] {
		t.Fatal("pad allowed before a committed character")
	}
	if !d.accepts([]int32{id("Q"), M, id("1"), M, M, M}, 5, M, false, v.pad) {
		t.Fatal("pad at the end rejected")
	}
	if d.accepts([]int32{id("Q"), M, id("1"), M, M, M}, 1, M, false, id("2")) {
		t.Fatal("digit accepted in a letter position")
	}
	// Numbers: integer in [1, 999], width 4, the last position committed
	// first: "9" at 3 means a 4-character value, impossible within 999
	// unless the earlier positions are pads, which cannot precede it.
	num, err := langFor(&Schema{}, &Node{Kind: Number, Integer: true, Min: "1", Max: "999"}, v)
	if err != nil {
		t.Fatal(err)
	}
	if num.accepts([]int32{M, M, M, M}, 3, M, false, id("9")) {
		t.Fatal("4-digit value accepted under maximum 999")
	}
	if !num.accepts([]int32{M, M, M, M}, 2, M, false, id("9")) {
		t.Fatal("3-digit value rejected")
	}
	if num.accepts([]int32{M, M, M, M}, 0, M, false, id("0")) {
		t.Fatal("leading 0 accepted under minimum 1")
	}
}
