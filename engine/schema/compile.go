package schema

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
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
	Union              // anyOf/oneOf: a branch chosen by scoring, then scaffolded
)

func (k Kind) String() string {
	return [...]string{"object", "array", "string", "number", "choice", "union"}[k]
}

// Node is a compiled schema node.
type Node struct {
	Kind     Kind
	Ptr      string // JSON pointer of the schema node (after $ref)
	Nullable bool   // the type admits null

	Props []Prop // Object, in schema order
	// Dyn are an object's entries under keys it does not list (nil: none).
	Dyn *Dynamic
	// Names is the JSON pointer of the object's propertyNames schema ("":
	// none), checked against Props at compile time.
	Names string

	Items              *Node   // Array: items after Prefix (nil: none)
	Prefix             []*Node // Array: a tuple's leading items (prefixItems)
	MinItems, MaxItems int     // MaxItems -1: unbounded
	Unique             bool    // uniqueItems

	MinLen, MaxLen int    // String, in code points; MaxLen -1: unbounded
	Pattern        string // String: a regular pattern (JSON Schema search semantics)
	Format         string // String: date, date-time, email, uri

	Integer          bool   // Number
	Min, Max         string // Number: exact decimal bounds, "" if none
	ExclMin, ExclMax bool
	MultipleOf       string // Number: exact decimal, "" if none

	Alts []string // Choice: the alternatives as compact JSON

	Branches []*Node // Union: anyOf/oneOf branches, one chosen by scoring
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
	draft     draft
	validator *jsonschema.Schema
	langs     sync.Map // langKey -> *dfa
}

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
	d, known := draftOf(root)
	c := &compiler{root: root, draft: d}
	if id := root.get(c.idKey()); id != nil && id.kind == 's' {
		c.rootID = strings.TrimSuffix(id.str, "#")
	}
	n, err := c.node(root, "", nil)
	var ab *absent
	if errors.As(err, &ab) {
		return nil, ab.err
	}
	if err != nil {
		return nil, err
	}
	c.compileDicts()
	if _, at := minValues(n, MaxScaffoldValues); at != nil {
		return nil, cerr(at.Ptr, "scaffold", "more than %d values even with every optional part left out (MaxScaffoldValues)", MaxScaffoldValues)
	}
	// The validator compiles the very document the scaffold was built from
	// (not a second parse of the bytes).
	jc := jsonschema.NewCompiler()
	jc.DefaultDraft(d.validatorDraft())
	jc.AssertFormat()
	vdoc := root
	if !known {
		// A $schema naming no draft the validator knows (a typo, an
		// OpenAPI dialect): validated as the draft its keywords show.
		vdoc = root.without("$schema")
	}
	if err := jc.AddResource("mem:///schema.json", vdoc.doc()); err != nil {
		return nil, &CompileError{Keyword: "$schema", Msg: err.Error()}
	}
	v, err := jc.Compile("mem:///schema.json")
	if err != nil {
		return nil, &CompileError{Keyword: "$schema", Msg: "validator: " + err.Error()}
	}
	if err := filterChoices(jc, n, map[*Node]error{}); err != nil {
		return nil, err
	}
	if err := checkNames(jc, n, map[*Node]bool{}); err != nil {
		return nil, err
	}
	return &Schema{Root: n, Source: slices.Clone(schemaJSON), draft: d, validator: v}, nil
}

// Draft is the JSON Schema version the document was read and is validated
// as: 4, 6, 7, 2019 (2019-09) or 2020 (2020-12), from its $schema or, where
// that names no draft, from its keywords (see Compile).
func (s *Schema) Draft() int { return int(s.draft) }

// filterChoices drops enum/const alternatives that fail their own schema
// node (an enum value of the wrong type, too long...), so that a choice can
// never make the output invalid. A node left without a valid alternative
// admits no value: an optional property (or a dictionary's entries) there
// is left out, anywhere else it is a compile error. seen holds each node
// visited and the error it gave.
func filterChoices(jc *jsonschema.Compiler, n *Node, seen map[*Node]error) error {
	if err, ok := seen[n]; ok {
		return err
	}
	seen[n] = nil
	err := filterNode(jc, n, seen)
	seen[n] = err
	return err
}

func filterNode(jc *jsonschema.Compiler, n *Node, seen map[*Node]error) error {
	var drop []string
	for _, p := range n.Props {
		if err := filterChoices(jc, p.Node, seen); err != nil {
			if p.Required || !noValue(err) {
				return err
			}
			drop = append(drop, p.Name)
		}
	}
	n.Props = slices.DeleteFunc(n.Props, func(p Prop) bool { return slices.Contains(drop, p.Name) })
	if d := n.Dyn; d != nil {
		for _, c := range n.dynNodes() {
			if err := filterChoices(jc, c, seen); err != nil {
				if d.Min > 0 || !noValue(err) {
					return err
				}
				n.Dyn = nil
				break
			}
		}
	}
	for _, c := range slices.Concat(n.Prefix, n.Branches, []*Node{n.Items}) {
		if c == nil {
			continue
		}
		if err := filterChoices(jc, c, seen); err != nil {
			return err
		}
	}
	if n.Kind != Choice {
		return nil
	}
	sub, err := subschema(jc, n.Ptr)
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
		return cerr(n.Ptr, "enum", noValueMsg)
	}
	n.Alts = keep
	return nil
}

const noValueMsg = "no enum/const value validates against its own schema"

// noValue reports whether err is filterChoices' "admits no value".
func noValue(err error) bool {
	var ce *CompileError
	return errors.As(err, &ce) && ce.Keyword == "enum" && ce.Msg == noValueMsg
}

// subschema compiles the validator's schema at JSON pointer ptr.
func subschema(jc *jsonschema.Compiler, ptr string) (*jsonschema.Schema, error) {
	frag := ""
	for _, tok := range strings.Split(ptr, "/")[1:] {
		frag += "/" + url.PathEscape(tok)
	}
	return jc.Compile("mem:///schema.json#" + frag)
}

type compiler struct {
	root   *jv
	draft  draft
	rootID string // the root's $id (id in draft-04), without a trailing '#'

	nodes int // subschemas compiled so far (MaxSubschemas)
	depth int // subschemas being compiled, outermost first (MaxDepth)

	dicts []pendingDict // dictionaries whose entries are compiled last
}

func ptrJoin(p, tok string) string {
	tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
	return p + "/" + tok
}

func cerr(ptr, kw, format string, args ...any) error {
	return &CompileError{Pointer: ptr, Keyword: kw, Msg: fmt.Sprintf(format, args...)}
}
