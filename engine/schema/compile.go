package schema

import (
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Kind is what a schema node compiles to.
type Kind uint8

const (
	Object Kind = iota // fixed braces and keys around property values
	Array              // a max-items scaffold; unused items collapse
	String             // a free slot between fixed quotes
	Number             // a free unquoted slot (number or integer)
	Choice             // enum, const, boolean, null: chosen by scoring
)

func (k Kind) String() string {
	return [...]string{"object", "array", "string", "number", "choice"}[k]
}

// Node is a compiled schema node.
type Node struct {
	Kind     Kind
	Ptr      string // JSON pointer of the schema node (after $ref)
	Nullable bool   // the type admits null

	Props []Prop // Object, in schema order

	Items              *Node // Array
	MinItems, MaxItems int   // MaxItems -1: unbounded

	MinLen, MaxLen int    // String, in code points; MaxLen -1: unbounded
	Pattern        string // String: a regular pattern (JSON Schema search semantics)
	Format         string // String: date, date-time, email, uri

	Integer          bool   // Number
	Min, Max         string // Number: exact decimal bounds, "" if none
	ExclMin, ExclMax bool
	MultipleOf       string // Number: exact decimal, "" if none

	Alts []string // Choice: the alternatives as compact JSON
}

// Prop is one property of an object node.
type Prop struct {
	Name     string
	Required bool
	Node     *Node
}

// CompileError reports a schema the scaffold compiler cannot honour.
type CompileError struct {
	Pointer string // JSON pointer of the offending schema location
	Keyword string
	Msg     string
}

func (e *CompileError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("schema: %s at %s: %s", e.Keyword, p, e.Msg)
}

// Schema is a compiled JSON Schema: the scaffold tree and the validator
// every result is checked with.
type Schema struct {
	Root      *Node
	Source    []byte
	validator *jsonschema.Schema
	langs     sync.Map // langKey -> *dfa
}

// annotations are keywords that never constrain instances.
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true,
	"examples": true, "default": true, "readOnly": true, "writeOnly": true, "deprecated": true,
	"$defs": true, "definitions": true,
}

var supported = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"enum": true, "const": true, "items": true, "minItems": true, "maxItems": true,
	"maxLength": true, "minLength": true, "pattern": true, "format": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"multipleOf": true, "$ref": true,
}

var formats = map[string]bool{"date": true, "date-time": true, "email": true, "uri": true}

// Compile parses and compiles a JSON Schema (draft 2020-12). Unsupported
// keywords, recursive references, unsatisfiable constraints, a key repeated
// within an object and a schema over one of the limits (limits.go) give a
// *CompileError naming the keyword and its JSON pointer.
func Compile(schemaJSON []byte) (*Schema, error) {
	if len(schemaJSON) > MaxSchemaBytes {
		return nil, &CompileError{Keyword: "size", Msg: fmt.Sprintf("%d bytes, over the %d-byte limit (MaxSchemaBytes)", len(schemaJSON), MaxSchemaBytes)}
	}
	root, err := parseJSON(schemaJSON)
	if err != nil {
		var ce *CompileError
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, &CompileError{Keyword: "json", Msg: err.Error()}
	}
	c := &compiler{root: root}
	n, err := c.node(root, "", nil)
	if err != nil {
		return nil, err
	}
	items := Options{}.withDefaults().ArrayItems
	if _, at := scaffoldValues(n, items, MaxScaffoldValues); at != nil {
		return nil, cerr(at.Ptr, "scaffold", "more than %d values once arrays are expanded to %d items (MaxScaffoldValues)", MaxScaffoldValues, items)
	}
	// The validator compiles the very document the scaffold was built from
	// (not a second parse of the bytes).
	jc := jsonschema.NewCompiler()
	jc.DefaultDraft(jsonschema.Draft2020)
	jc.AssertFormat()
	if err := jc.AddResource("mem:///schema.json", root.doc()); err != nil {
		return nil, &CompileError{Keyword: "$schema", Msg: err.Error()}
	}
	v, err := jc.Compile("mem:///schema.json")
	if err != nil {
		return nil, &CompileError{Keyword: "$schema", Msg: "validator: " + err.Error()}
	}
	if err := filterChoices(jc, n, map[*Node]bool{}); err != nil {
		return nil, err
	}
	return &Schema{Root: n, Source: slices.Clone(schemaJSON), validator: v}, nil
}

// filterChoices drops enum/const alternatives that fail their own schema
// node (an enum value of the wrong type, too long...), so that a choice can
// never make the output invalid; no valid alternative is a compile error.
func filterChoices(jc *jsonschema.Compiler, n *Node, seen map[*Node]bool) error {
	if seen[n] {
		return nil
	}
	seen[n] = true
	for _, p := range n.Props {
		if err := filterChoices(jc, p.Node, seen); err != nil {
			return err
		}
	}
	if n.Items != nil {
		return filterChoices(jc, n.Items, seen)
	}
	if n.Kind != Choice {
		return nil
	}
	frag := ""
	for _, tok := range strings.Split(n.Ptr, "/")[1:] {
		frag += "/" + url.PathEscape(tok)
	}
	sub, err := jc.Compile("mem:///schema.json#" + frag)
	if err != nil {
		return nil // keep every alternative; the final validation still guards
	}
	var keep []string
	for _, a := range n.Alts {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(a))
		if err == nil && sub.Validate(inst) == nil {
			keep = append(keep, a)
		}
	}
	if len(keep) == 0 {
		return cerr(n.Ptr, "enum", "no enum/const value validates against its own schema")
	}
	n.Alts = keep
	return nil
}

type compiler struct {
	root  *jv
	nodes int // subschemas compiled so far (MaxSubschemas)
	depth int // subschemas being compiled, outermost first (MaxDepth)
}

func ptrJoin(p, tok string) string {
	tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
	return p + "/" + tok
}

func cerr(ptr, kw, format string, args ...any) error {
	return &CompileError{Pointer: ptr, Keyword: kw, Msg: fmt.Sprintf(format, args...)}
}

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
		return nil, cerr(ptr, "boolean schema", "true/false schemas are not supported")
	}
	if v.kind != 'o' {
		return nil, cerr(ptr, "schema", "not an object")
	}
	for _, e := range v.obj {
		if !annotations[e.key] && !supported[e.key] {
			if e.key == "" {
				return nil, cerr(ptrJoin(ptr, e.key), e.key, "unsupported keyword (the empty string)")
			}
			return nil, cerr(ptrJoin(ptr, e.key), e.key, "unsupported keyword")
		}
	}
	if ptr != "" && v.get("$id") != nil {
		// The validator would resolve the $refs below against this $id.
		return nil, cerr(ptrJoin(ptr, "$id"), "$id", "only supported at the root (it changes what the $refs below it resolve against)")
	}
	if ref := v.get("$ref"); ref != nil {
		for _, e := range v.obj {
			if !annotations[e.key] && e.key != "$ref" {
				return nil, cerr(ptrJoin(ptr, e.key), e.key, "keywords beside $ref are not supported")
			}
		}
		if ref.kind != 's' {
			return nil, cerr(ptrJoin(ptr, "$ref"), "$ref", "not a string")
		}
		target, tptr, err := c.resolve(ref.str)
		if err != nil {
			return nil, cerr(ptrJoin(ptr, "$ref"), "$ref", "%v", err)
		}
		if slices.Contains(refs, tptr) {
			return nil, cerr(ptrJoin(ptr, "$ref"), "$ref", "recursive reference to %s", ref.str)
		}
		return c.node(target, tptr, append(refs, tptr))
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
	var types []string
	nullable := false
	switch t := v.get("type"); {
	case t == nil:
		switch {
		case v.get("properties") != nil:
			types = []string{"object"}
		case v.get("items") != nil:
			types = []string{"array"}
		default:
			return nil, cerr(ptr, "type", "missing (no type, enum or const)")
		}
	case t.kind == 's':
		types = []string{t.str}
	case t.kind == 'a':
		for _, e := range t.arr {
			if e.kind != 's' {
				return nil, cerr(ptrJoin(ptr, "type"), "type", "not a string")
			}
			if e.str == "null" {
				nullable = true
			} else {
				types = append(types, e.str)
			}
		}
	default:
		return nil, cerr(ptrJoin(ptr, "type"), "type", "must be a string or an array")
	}
	if len(types) == 0 {
		return &Node{Kind: Choice, Ptr: ptr, Alts: []string{"null"}}, nil
	}
	// A union of several non-null types compiles to the first one: every
	// output is still valid.
	var n *Node
	var err error
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
	case "null":
		n = &Node{Kind: Choice, Ptr: ptr, Alts: []string{"null"}}
	default:
		return nil, cerr(ptrJoin(ptr, "type"), "type", "unknown type %q", types[0])
	}
	if err != nil {
		return nil, err
	}
	if nullable {
		if n.Kind == Choice {
			if !slices.Contains(n.Alts, "null") {
				n.Alts = append(n.Alts, "null")
			}
		} else {
			n.Nullable = true
		}
	}
	// Keywords of the other kinds are harmless (they constrain only values
	// of their own type), but must be well-formed: the validator checks that.
	return n, nil
}

// resolve finds a local reference: a URI fragment holding a JSON pointer,
// percent-decoded first as the validator does.
func (c *compiler) resolve(ref string) (*jv, string, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, "", fmt.Errorf("only local references (#/$defs/...) are supported, got %q", ref)
	}
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil, "", fmt.Errorf("reference %q: %v", ref, err)
	}
	v, ptr := c.root, ""
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		v = v.get(tok)
		ptr = ptrJoin(ptr, tok)
		if v == nil {
			return nil, "", fmt.Errorf("unresolved reference %q", ref)
		}
	}
	return v, ptr, nil
}

func (c *compiler) object(v *jv, ptr string, refs []string) (*Node, error) {
	n := &Node{Kind: Object, Ptr: ptr}
	if ap := v.get("additionalProperties"); ap != nil && ap.kind != 'b' {
		return nil, cerr(ptrJoin(ptr, "additionalProperties"), "additionalProperties", "only true or false is supported")
	}
	req := map[string]bool{}
	if r := v.get("required"); r != nil {
		if r.kind != 'a' {
			return nil, cerr(ptrJoin(ptr, "required"), "required", "not an array")
		}
		for _, e := range r.arr {
			req[e.str] = true
		}
	}
	props := v.get("properties")
	if props != nil && props.kind != 'o' {
		return nil, cerr(ptrJoin(ptr, "properties"), "properties", "not an object")
	}
	seen := map[string]bool{}
	if props != nil {
		for _, e := range props.obj {
			p, err := c.node(e.val, ptrJoin(ptrJoin(ptr, "properties"), e.key), refs)
			if err != nil {
				return nil, err
			}
			n.Props = append(n.Props, Prop{Name: e.key, Required: req[e.key], Node: p})
			seen[e.key] = true
		}
	}
	for k := range req {
		if !seen[k] {
			return nil, cerr(ptrJoin(ptr, "required"), "required", "property %q has no schema under properties", k)
		}
	}
	return n, nil
}

func intKeyword(v *jv, ptr, kw string, def int) (int, error) {
	e := v.get(kw)
	if e == nil {
		return def, nil
	}
	if e.kind != 'n' {
		return 0, cerr(ptrJoin(ptr, kw), kw, "not a number")
	}
	i, err := strconv.Atoi(e.num.String())
	if err != nil || i < 0 {
		return 0, cerr(ptrJoin(ptr, kw), kw, "not a non-negative integer")
	}
	return i, nil
}

func (c *compiler) array(v *jv, ptr string, refs []string) (*Node, error) {
	n := &Node{Kind: Array, Ptr: ptr}
	items := v.get("items")
	if items == nil {
		return nil, cerr(ptr, "items", "arrays need an items schema")
	}
	var err error
	if n.Items, err = c.node(items, ptrJoin(ptr, "items"), refs); err != nil {
		return nil, err
	}
	if n.MinItems, err = intKeyword(v, ptr, "minItems", 0); err != nil {
		return nil, err
	}
	if n.MaxItems, err = intKeyword(v, ptr, "maxItems", -1); err != nil {
		return nil, err
	}
	if n.MaxItems >= 0 && n.MaxItems < n.MinItems {
		return nil, cerr(ptrJoin(ptr, "maxItems"), "maxItems", "below minItems")
	}
	if n.MinItems > 64 {
		return nil, cerr(ptrJoin(ptr, "minItems"), "minItems", "more than 64 items cannot be scaffolded")
	}
	return n, nil
}

func (c *compiler) str(v *jv, ptr string) (*Node, error) {
	n := &Node{Kind: String, Ptr: ptr}
	var err error
	if n.MinLen, err = intKeyword(v, ptr, "minLength", 0); err != nil {
		return nil, err
	}
	if n.MaxLen, err = intKeyword(v, ptr, "maxLength", -1); err != nil {
		return nil, err
	}
	if n.MinLen > 32 {
		return nil, cerr(ptrJoin(ptr, "minLength"), "minLength", "above 32 is not supported")
	}
	if n.MaxLen >= 0 && n.MaxLen < n.MinLen {
		return nil, cerr(ptrJoin(ptr, "maxLength"), "maxLength", "below minLength")
	}
	if p := v.get("pattern"); p != nil {
		if p.kind != 's' {
			return nil, cerr(ptrJoin(ptr, "pattern"), "pattern", "not a string")
		}
		if _, err := newPattern(p.str); err != nil {
			return nil, cerr(ptrJoin(ptr, "pattern"), "pattern", "%v", err)
		}
		n.Pattern = p.str
	}
	if f := v.get("format"); f != nil {
		if f.kind != 's' || !formats[f.str] {
			return nil, cerr(ptrJoin(ptr, "format"), "format", "unsupported format %s (supported: date, date-time, email, uri)", f.compact())
		}
		if n.Pattern != "" {
			return nil, cerr(ptrJoin(ptr, "format"), "format", "format together with pattern is not supported")
		}
		n.Format = f.str
	}
	return n, nil
}

// decimal returns the exact decimal text of a JSON number ("" if not finite).
func decimal(num string) (string, bool) {
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return "", false
	}
	// Exact decimal: find the number of fraction digits needed.
	for d := 0; d <= 30; d++ {
		s := r.FloatString(d)
		back, _ := new(big.Rat).SetString(s)
		if back.Cmp(r) == 0 {
			return s, true
		}
	}
	return "", false
}

func (c *compiler) number(v *jv, ptr string, integer bool) (*Node, error) {
	n := &Node{Kind: Number, Ptr: ptr, Integer: integer}
	get := func(kw string) (string, error) {
		e := v.get(kw)
		if e == nil {
			return "", nil
		}
		if e.kind != 'n' {
			return "", cerr(ptrJoin(ptr, kw), kw, "not a number")
		}
		d, ok := decimal(e.num.String())
		if !ok {
			return "", cerr(ptrJoin(ptr, kw), kw, "not an exact decimal of at most 30 fraction digits")
		}
		return d, nil
	}
	var err error
	if n.Min, err = get("minimum"); err != nil {
		return nil, err
	}
	if n.Max, err = get("maximum"); err != nil {
		return nil, err
	}
	emin, err := get("exclusiveMinimum")
	if err != nil {
		return nil, err
	}
	emax, err := get("exclusiveMaximum")
	if err != nil {
		return nil, err
	}
	// The tighter of minimum and exclusiveMinimum wins.
	if emin != "" && (n.Min == "" || ratCmp(emin, n.Min) >= 0) {
		n.Min, n.ExclMin = emin, true
	}
	if emax != "" && (n.Max == "" || ratCmp(emax, n.Max) <= 0) {
		n.Max, n.ExclMax = emax, true
	}
	if n.MultipleOf, err = get("multipleOf"); err != nil {
		return nil, err
	}
	if n.MultipleOf != "" {
		if ratCmp(n.MultipleOf, "0") <= 0 {
			return nil, cerr(ptrJoin(ptr, "multipleOf"), "multipleOf", "must be positive")
		}
		if _, _, ok := splitMultiple(n.MultipleOf); !ok {
			return nil, cerr(ptrJoin(ptr, "multipleOf"), "multipleOf", "%s: at most 6 significant digits and 8 fraction digits are supported", n.MultipleOf)
		}
	}
	if n.Min != "" && n.Max != "" {
		c := ratCmp(n.Min, n.Max)
		if c > 0 || c == 0 && (n.ExclMin || n.ExclMax) {
			return nil, cerr(ptr, "minimum", "empty range [%s, %s]", n.Min, n.Max)
		}
	}
	return n, nil
}

func ratCmp(a, b string) int {
	x, _ := new(big.Rat).SetString(a)
	y, _ := new(big.Rat).SetString(b)
	return x.Cmp(y)
}
