package schema

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// maxRecursion is how many times one $ref target may appear on the chain
// of references being compiled: a recursive structure (a tree, a linked
// list) is scaffolded that many levels deep, and below that its optional
// parts are left out.
const maxRecursion = 2

// absent reports a subschema that no value can take where it stands: a
// false schema, or a recursive $ref past maxRecursion. An optional property
// or array item there is left out of the scaffold, a union branch dropped;
// anywhere else it is the *CompileError it holds.
type absent struct{ err *CompileError }

func (a *absent) Error() string { return a.err.Error() }

func isAbsent(err error) bool {
	var a *absent
	return errors.As(err, &a)
}

func (c *compiler) idKey() string {
	if c.draft == draft4 {
		return "id"
	}
	return "$id"
}

// anyValue is the node of a schema that admits every JSON value (true, {},
// annotations only): a free string, which is one of them.
func anyValue(ptr string) *Node { return &Node{Kind: String, Ptr: ptr, MaxLen: -1, Nullable: true} }

func (c *compiler) node(v *jv, ptr string, refs []string) (*Node, error) {
	if c.nodes++; c.nodes > MaxSubschemas {
		return nil, cerr(ptr, "subschemas", "more than %d subschemas, each $ref counted once per use (MaxSubschemas)", MaxSubschemas)
	}
	if c.depth >= MaxDepth {
		return nil, cerr(ptr, "depth", "subschemas nested deeper than %d levels, following $ref (MaxDepth)", MaxDepth)
	}
	c.depth++
	defer func() { c.depth-- }()
	if v.kind == 'b' {
		if v.b {
			return anyValue(ptr), nil
		}
		return nil, &absent{&CompileError{Pointer: ptr, Keyword: "false schema", Msg: "no value is valid here"}}
	}
	if v.kind != 'o' {
		return nil, cerr(ptr, "schema", "not an object")
	}
	if w := ifToAnyOf(v); w != v {
		n, err := c.node(w, ptr, refs)
		var ce *CompileError
		if errors.As(err, &ce) && strings.HasPrefix(ce.Pointer, ptr+"/anyOf") && v.get("anyOf") == nil {
			// The union is the conditional's: name it.
			ce.Pointer, ce.Msg = ptrJoin(ptr, "if"), "if/then/else: "+ce.Msg
		}
		return n, err
	}
	if v.get("not") != nil {
		w, err := c.rewriteNot(v, ptr)
		if err != nil {
			return nil, err
		}
		return c.node(w, ptr, refs)
	}
	for _, e := range v.obj {
		if ok, known := assertions[e.key]; known && !ok {
			return nil, cerr(ptrJoin(ptr, e.key), e.key, "not supported by the scaffold compiler")
		}
	}
	if ptr != "" {
		if id := v.get(c.idKey()); id != nil && id.kind == 's' && !strings.HasPrefix(id.str, "#") &&
			strings.TrimSuffix(id.str, "#") != c.rootID && hasKeyword(v, func(k string, _ *jv) bool { return k == "$ref" }) {
			// The validator resolves the $refs below against this $id.
			return nil, cerr(ptrJoin(ptr, c.idKey()), c.idKey(), "a nested %s that changes what the $refs below it resolve against is not supported", c.idKey())
		}
	}
	kw, ref := "$ref", v.get("$ref")
	if ref == nil {
		if ref = v.get("$recursiveRef"); ref != nil {
			kw = "$recursiveRef"
		}
	}
	if ref != nil {
		return c.reference(v, ptr, kw, ref, refs)
	}
	if v.get("allOf") != nil {
		merged, err := c.mergeAllOf(v, ptr, refs)
		if err != nil {
			return nil, err
		}
		return c.node(merged, ptr, refs)
	}
	if v.get("anyOf") != nil || v.get("oneOf") != nil {
		return c.union(v, ptr, refs)
	}
	if e := v.get("const"); e != nil {
		return &Node{Kind: Choice, Ptr: ptr, Alts: []string{e.compact()}}, nil
	}
	if e := v.get("enum"); e != nil {
		if e.kind != 'a' || len(e.arr) == 0 {
			return nil, cerr(ptrJoin(ptr, "enum"), "enum", "must be a non-empty array")
		}
		if len(e.arr) > MaxEnumValues {
			return nil, cerr(ptrJoin(ptr, "enum"), "enum", "%d values, over the limit of %d (MaxEnumValues)", len(e.arr), MaxEnumValues)
		}
		n := &Node{Kind: Choice, Ptr: ptr}
		for _, a := range e.arr {
			s := a.compact()
			if !slices.Contains(n.Alts, s) {
				n.Alts = append(n.Alts, s)
			}
		}
		return n, nil
	}
	types, nullable, err := typesOf(v, ptr)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		if nullable {
			return &Node{Kind: Choice, Ptr: ptr, Alts: []string{"null"}}, nil
		}
		return anyValue(ptr), nil
	}
	// A union of several non-null types compiles to the first one: every
	// output is still valid.
	var n *Node
	switch types[0] {
	case "object":
		n, err = c.object(v, ptr, refs)
	case "array":
		n, err = c.array(v, ptr, refs)
	case "string":
		n, err = c.str(v, ptr)
	case "number", "integer":
		n, err = c.number(v, ptr, types[0] == "integer")
	case "boolean":
		n = &Node{Kind: Choice, Ptr: ptr, Alts: []string{"true", "false"}}
	default:
		return nil, cerr(ptrJoin(ptr, "type"), "type", "unknown type %q", types[0])
	}
	if err != nil {
		return nil, err
	}
	if nullable {
		makeNullable(n)
	}
	// Keywords of the other kinds are harmless (they constrain only values
	// of their own type), but must be well-formed: the validator checks that.
	return n, nil
}

func makeNullable(n *Node) {
	if n.Kind == Choice {
		if !slices.Contains(n.Alts, "null") {
			n.Alts = append(n.Alts, "null")
		}
		return
	}
	n.Nullable = true
}

// reference compiles a $ref (or $recursiveRef, which refers to the root
// here: no $recursiveAnchor below the root is supported). Keywords beside
// it apply with it from 2019-09 on (merged as allOf), and are ignored
// before.
func (c *compiler) reference(v *jv, ptr, kw string, ref *jv, refs []string) (*Node, error) {
	if ref.kind != 's' {
		return nil, cerr(ptrJoin(ptr, kw), kw, "not a string")
	}
	target := ref.str
	if kw == "$recursiveRef" {
		target = "#"
	}
	t, tptr, err := c.resolve(target)
	if err != nil {
		return nil, cerr(ptrJoin(ptr, kw), kw, "%v", err)
	}
	if count(refs, tptr) >= maxRecursion {
		return nil, &absent{&CompileError{Pointer: ptrJoin(ptr, kw), Keyword: "$ref",
			Msg: fmt.Sprintf("recursive reference to %s needed more than %d levels deep (maxRecursion)", ref.str, maxRecursion)}}
	}
	refs = slices.Concat(refs, []string{tptr})
	if rest := v.without("$ref", "$recursiveRef"); c.draft.refSiblings() && constrains(rest) {
		merged, err := c.merge(ptr, []*jv{t, rest}, refs)
		if err != nil {
			return nil, err
		}
		return c.node(merged, ptr, refs)
	}
	return c.node(t, tptr, refs)
}

func count(refs []string, p string) int {
	n := 0
	for _, r := range refs {
		if r == p {
			n++
		}
	}
	return n
}

// typesOf reads type (a string or an array, "null" reported as nullable),
// or infers it from the keywords present: a schema with properties is
// read as an object, one with items as an array, and so on (a value of
// another type would also be valid, but never needed). No type and no
// keyword of a type: any value (types empty, nullable false).
func typesOf(v *jv, ptr string) (types []string, nullable bool, err error) {
	switch t := v.get("type"); {
	case t == nil:
		for _, k := range []struct {
			typ string
			kws []string
		}{
			{"object", []string{"properties", "required", "additionalProperties", "patternProperties", "propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependencies"}},
			{"array", []string{"items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems"}},
			{"string", []string{"pattern", "format", "minLength", "maxLength"}},
			{"number", []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}},
		} {
			for _, kw := range k.kws {
				if v.get(kw) != nil {
					return []string{k.typ}, false, nil
				}
			}
		}
		return nil, false, nil
	case t.kind == 's':
		if t.str == "null" {
			return nil, true, nil
		}
		if t.str == "any" { // draft-03
			return nil, false, nil
		}
		return []string{t.str}, false, nil
	case t.kind == 'a':
		for _, e := range t.arr {
			if e.kind != 's' {
				return nil, false, cerr(ptrJoin(ptr, "type"), "type", "not a string")
			}
			if e.str == "null" {
				nullable = true
			} else {
				types = append(types, e.str)
			}
		}
		if len(types) == 0 && !nullable {
			return nil, false, cerr(ptrJoin(ptr, "type"), "type", "an empty array admits no value")
		}
		return types, nullable, nil
	}
	return nil, false, cerr(ptrJoin(ptr, "type"), "type", "must be a string or an array")
}

// resolve finds a reference within the document: "#", a JSON pointer
// fragment (percent-decoded first, as the validator does), a plain-name
// fragment ($anchor, or an id of "#name" before 2019-09), or any of these
// after the root's own $id.
func (c *compiler) resolve(ref string) (*jv, string, error) {
	if c.rootID != "" && strings.HasPrefix(ref, c.rootID) {
		ref = strings.TrimPrefix(ref, c.rootID)
		if ref == "" {
			ref = "#"
		}
	}
	if !strings.HasPrefix(ref, "#") {
		return nil, "", fmt.Errorf("only references within the document (#, #/$defs/..., #anchor) are supported, got %q", ref)
	}
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil, "", fmt.Errorf("reference %q: %v", ref, err)
	}
	if frag == "" {
		return c.root, "", nil
	}
	if !strings.HasPrefix(frag, "/") {
		if v, ptr := findAnchor(c.root, "", frag); v != nil {
			return v, ptr, nil
		}
		return nil, "", fmt.Errorf("unresolved anchor %q", ref)
	}
	v, ptr := c.root, ""
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if v.kind == 'a' {
			v = v.index(tok)
		} else {
			v = v.get(tok)
		}
		ptr = ptrJoin(ptr, tok)
		if v == nil {
			return nil, "", fmt.Errorf("unresolved reference %q", ref)
		}
	}
	return v, ptr, nil
}

// index is array element tok (a decimal index), nil if none.
func (v *jv) index(tok string) *jv {
	i := 0
	for _, r := range tok {
		if r < '0' || r > '9' || i > len(v.arr) {
			return nil
		}
		i = i*10 + int(r-'0')
	}
	if tok == "" || i >= len(v.arr) {
		return nil
	}
	return v.arr[i]
}

// findAnchor finds the schema object whose $anchor is name, or whose $id
// or id is "#name".
func findAnchor(v *jv, ptr, name string) (*jv, string) {
	switch v.kind {
	case 'o':
		if a := v.get("$anchor"); a != nil && a.kind == 's' && a.str == name {
			return v, ptr
		}
		for _, k := range []string{"$id", "id"} {
			if a := v.get(k); a != nil && a.kind == 's' && a.str == "#"+name {
				return v, ptr
			}
		}
		for _, e := range v.obj {
			if f, p := findAnchor(e.val, ptrJoin(ptr, e.key), name); f != nil {
				return f, p
			}
		}
	case 'a':
		for i, e := range v.arr {
			if f, p := findAnchor(e, ptrJoin(ptr, fmt.Sprint(i)), name); f != nil {
				return f, p
			}
		}
	}
	return nil, ""
}
