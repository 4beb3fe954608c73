package schema

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
)

// allOf is merged at compile time into one schema object: the conjunction
// of object, array, number and string constraints (the tighter bound wins,
// required lists join, properties merge key by key, enums intersect). What
// has no single-schema form (two different patterns or formats, two
// unions) is a *CompileError naming allOf. The merged object is compiled
// like any other; the validator still checks every output against the
// schema as written.

// mergeAllOf merges v's allOf branches (their $refs followed) with v's
// other keywords.
func (c *compiler) mergeAllOf(v *jv, ptr string, refs []string) (*jv, error) {
	all := v.get("allOf")
	if all.kind != 'a' || len(all.arr) == 0 {
		return nil, cerr(ptrJoin(ptr, "allOf"), "allOf", "must be a non-empty array")
	}
	parts := []*jv{v.without("allOf")}
	parts = append(parts, all.arr...)
	return c.merge(ptrJoin(ptr, "allOf"), parts, refs)
}

// merge merges schema objects (or booleans) into one, following each
// part's $ref (siblings merged from 2019-09 on) and flattening nested
// allOf.
func (c *compiler) merge(ptr string, parts []*jv, refs []string) (*jv, error) {
	flat, err := c.flatten(ptr, parts, refs, 0)
	if err != nil {
		return nil, err
	}
	acc := &jv{kind: 'o'}
	for _, p := range flat {
		if acc, err = merge2(acc, p, ptr); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func (c *compiler) flatten(ptr string, parts []*jv, refs []string, depth int) ([]*jv, error) {
	if depth > MaxDepth {
		return nil, cerr(ptr, "allOf", "nested deeper than %d levels, following $ref (MaxDepth)", MaxDepth)
	}
	var out []*jv
	for _, p := range parts {
		if c.nodes++; c.nodes > MaxSubschemas {
			return nil, cerr(ptr, "subschemas", "more than %d subschemas, each $ref counted once per use (MaxSubschemas)", MaxSubschemas)
		}
		p = ifToAnyOf(p)
		switch {
		case p.kind == 'b' && p.b:
			continue
		case p.kind == 'b':
			return nil, &absent{&CompileError{Pointer: ptr, Keyword: "false schema", Msg: "an allOf branch admits no value"}}
		case p.kind != 'o':
			return nil, cerr(ptr, "allOf", "a branch is not a schema object")
		}
		if ref := p.get("$ref"); ref != nil && ref.kind == 's' {
			t, tptr, err := c.resolve(ref.str)
			if err != nil {
				return nil, cerr(ptr, "$ref", "%v", err)
			}
			if count(refs, tptr) >= maxRecursion {
				return nil, &absent{&CompileError{Pointer: ptr, Keyword: "$ref", Msg: fmt.Sprintf("recursive reference to %s needed more than %d levels deep (maxRecursion)", ref.str, maxRecursion)}}
			}
			sub := []*jv{t}
			if c.draft.refSiblings() {
				sub = append(sub, p.without("$ref"))
			}
			f, err := c.flatten(ptr, sub, slices.Concat(refs, []string{tptr}), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
			continue
		}
		if all := p.get("allOf"); all != nil && all.kind == 'a' {
			f, err := c.flatten(ptr, slices.Concat([]*jv{p.without("allOf")}, all.arr), refs, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, f...)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

func (v *jv) set(key string, val *jv) {
	for i, e := range v.obj {
		if e.key == key {
			v.obj[i].val = val
			return
		}
	}
	v.obj = append(v.obj, kv{key, val})
}

func allOfJV(a, b *jv) *jv {
	return &jv{kind: 'o', obj: []kv{{"allOf", &jv{kind: 'a', arr: []*jv{a, b}}}}}
}

var falseJV = &jv{kind: 'b'}

// extraApplied returns b's properties with a's additionalProperties and
// patternProperties applied to those that a does not list: an allOf of
// {properties a, additionalProperties false} and {properties b} admits no
// b.
func extraApplied(a, b *jv, ptr string) (*jv, error) {
	bp := b.get("properties")
	if bp == nil || bp.kind != 'o' {
		return bp, nil
	}
	ap, pp := a.get("additionalProperties"), a.get("patternProperties")
	if (ap == nil || ap.kind == 'b' && ap.b) && pp == nil {
		return bp, nil
	}
	out := &jv{kind: 'o'}
	for _, e := range bp.obj {
		val := e.val
		if a.get("properties").get(e.key) == nil {
			matched := false
			if pp != nil {
				for _, pe := range pp.obj {
					re, err := regexp.Compile(pe.key)
					if err != nil {
						return nil, cerr(ptr, "patternProperties", "pattern %q: %v", pe.key, err)
					}
					if re.MatchString(e.key) {
						val, matched = allOfJV(val, pe.val), true
					}
				}
			}
			if !matched && ap != nil && !(ap.kind == 'b' && ap.b) {
				extra := ap
				if ap.kind == 'b' {
					extra = falseJV
				}
				val = allOfJV(val, extra)
			}
		}
		out.obj = append(out.obj, kv{e.key, val})
	}
	return out, nil
}

// merge2 is the conjunction of schema objects a and b as one object.
func merge2(a, b *jv, ptr string) (*jv, error) {
	fail := func(kw, format string, args ...any) (*jv, error) {
		return nil, cerr(ptr, "allOf", "%s: %s", kw, fmt.Sprintf(format, args...))
	}
	aProps, err := extraApplied(b, a, ptr)
	if err != nil {
		return nil, err
	}
	bProps, err := extraApplied(a, b, ptr)
	if err != nil {
		return nil, err
	}
	out := &jv{kind: 'o', obj: slices.Clone(a.obj)}
	if aProps != nil {
		out.set("properties", aProps)
	}
	for _, e := range b.obj {
		bv := e.val
		if e.key == "properties" {
			bv = bProps
		}
		av := out.get(e.key)
		if av == nil {
			out.set(e.key, bv)
			continue
		}
		if av.compact() == bv.compact() {
			continue
		}
		if _, ok := assertions[e.key]; !ok {
			continue // annotations: the first one's
		}
		switch e.key {
		case "type":
			t, ok := intersectTypes(av, bv)
			if !ok {
				return nil, &absent{&CompileError{Pointer: ptr, Keyword: "allOf", Msg: fmt.Sprintf("types %s and %s have no value in common", av.compact(), bv.compact())}}
			}
			out.set("type", t)
		case "properties", "patternProperties":
			m := &jv{kind: 'o', obj: slices.Clone(av.obj)}
			for _, pe := range bv.obj {
				if x := m.get(pe.key); x != nil {
					m.set(pe.key, allOfJV(x, pe.val))
				} else {
					m.set(pe.key, pe.val)
				}
			}
			out.set(e.key, m)
		case "required":
			r := &jv{kind: 'a', arr: slices.Clone(av.arr)}
			for _, x := range bv.arr {
				if !slices.ContainsFunc(r.arr, func(y *jv) bool { return y.compact() == x.compact() }) {
					r.arr = append(r.arr, x)
				}
			}
			out.set("required", r)
		case "enum":
			r := &jv{kind: 'a'}
			for _, x := range av.arr {
				if slices.ContainsFunc(bv.arr, func(y *jv) bool { return y.compact() == x.compact() }) {
					r.arr = append(r.arr, x)
				}
			}
			if len(r.arr) == 0 {
				return nil, &absent{&CompileError{Pointer: ptr, Keyword: "allOf", Msg: "enums with no value in common"}}
			}
			out.set("enum", r)
		case "const":
			return nil, &absent{&CompileError{Pointer: ptr, Keyword: "allOf", Msg: "two different const values"}}
		case "minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum":
			if av.kind != 'n' || bv.kind != 'n' {
				return fail(e.key, "cannot merge %s and %s", av.compact(), bv.compact())
			}
			if ratCmp(bv.num.String(), av.num.String()) > 0 {
				out.set(e.key, bv)
			}
		case "maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum":
			if av.kind != 'n' || bv.kind != 'n' {
				return fail(e.key, "cannot merge %s and %s", av.compact(), bv.compact())
			}
			if ratCmp(bv.num.String(), av.num.String()) < 0 {
				out.set(e.key, bv)
			}
		case "uniqueItems":
			if bv.kind == 'b' && bv.b {
				out.set(e.key, bv)
			}
		case "multipleOf":
			x, _ := new(big.Rat).SetString(av.num.String())
			y, _ := new(big.Rat).SetString(bv.num.String())
			if x == nil || y == nil || x.Sign() <= 0 || y.Sign() <= 0 {
				return fail(e.key, "not positive numbers")
			}
			switch {
			case new(big.Rat).Quo(y, x).IsInt():
				out.set(e.key, bv)
			case new(big.Rat).Quo(x, y).IsInt():
			default:
				return fail(e.key, "%s and %s: a common multiple is not supported", av.compact(), bv.compact())
			}
		case "items", "additionalProperties", "additionalItems", "propertyNames", "unevaluatedProperties", "unevaluatedItems":
			switch {
			case av.kind == 'a' || bv.kind == 'a':
				return fail(e.key, "two tuples are not supported")
			case av.kind == 'b' && av.b || bv.kind == 'b' && !bv.b:
				out.set(e.key, bv)
			case bv.kind == 'b' && bv.b || av.kind == 'b' && !av.b:
			default:
				out.set(e.key, allOfJV(av, bv))
			}
		case "anyOf":
			// (a1 ∨ a2 ...) ∧ (b1 ∨ b2 ...): every pair, while few.
			if av.kind != 'a' || bv.kind != 'a' || len(av.arr)*len(bv.arr) > maxProductBranches {
				return fail(e.key, "two unions of %d and %d branches cannot be merged (over %d pairs)", len(av.arr), len(bv.arr), maxProductBranches)
			}
			prod := &jv{kind: 'a'}
			for _, x := range av.arr {
				for _, y := range bv.arr {
					prod.arr = append(prod.arr, allOfJV(x, y))
				}
			}
			out.set("anyOf", prod)
		case "not":
			// not a ∧ not b = not (a ∨ b).
			out.set("not", &jv{kind: 'o', obj: []kv{{"anyOf", &jv{kind: 'a', arr: []*jv{av, bv}}}}})
		default:
			return fail(e.key, "two different values (%s, %s) cannot be merged", av.compact(), bv.compact())
		}
	}
	return out, nil
}

// maxProductBranches bounds the branches that merging two anyOfs (an
// allOf of if/then/else conditions) makes.
const maxProductBranches = 64

// intersectTypes is the type keyword admitting what both a and b admit
// (integer within number).
func intersectTypes(a, b *jv) (*jv, bool) {
	set := func(v *jv) []string {
		if v.kind == 's' {
			return []string{v.str}
		}
		var s []string
		for _, e := range v.arr {
			s = append(s, e.str)
		}
		return s
	}
	bs := set(b)
	out := &jv{kind: 'a'}
	for _, t := range set(a) {
		switch {
		case slices.Contains(bs, t):
		case t == "integer" && slices.Contains(bs, "number"):
		case t == "number" && slices.Contains(bs, "integer"):
			t = "integer"
		default:
			continue
		}
		out.arr = append(out.arr, &jv{kind: 's', str: t})
	}
	return out, len(out.arr) > 0
}
