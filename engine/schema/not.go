package schema

import "slices"

// The forms of `not` that a scaffold can honour are rewritten, before a
// node is compiled, into keywords it honours; each rewrite admits only
// values the original admits (it may admit fewer), so an output is still
// valid against the document, which the validator checks as written:
//
//   - not {} or true: no value (a false schema);
//   - not {required: [a, b]}: the first of a, b that is not required is
//     left out (properties: {a: false}); all required is unsatisfiable;
//   - not {anyOf: [{required: [...]}, ...]}: each branch's names so, and
//     not {allOf: [...]} as one required list;
//   - not {type: T}: the other types;
//   - not {enum: [...]}, not {const: x}, not {anyOf: [{const}...]}: those
//     values dropped from the node's own enum/const (a free string or
//     number cannot be kept from a value by construction: a CompileError).
//
// Any other `not` is a *CompileError.

// rewriteNot returns v with its `not` rewritten (v itself if it has none).
func (c *compiler) rewriteNot(v *jv, ptr string) (*jv, error) {
	n := v.get("not")
	if n == nil {
		return v, nil
	}
	nptr := ptrJoin(ptr, "not")
	rest := v.without("not")
	if n.kind == 'b' {
		if n.b {
			return falseJV, nil
		}
		return rest, nil // not false: every value
	}
	if n.kind != 'o' {
		return nil, cerr(nptr, "not", "not a schema")
	}
	if !constrains(n) {
		return falseJV, nil // not {}: no value
	}
	unsupported := cerr(nptr, "not", "not supported by the scaffold compiler in this form (supported: required lists, type, enum/const values)")
	if names, ok := requiredForms(n); ok {
		return forbid(rest, names, nptr)
	}
	if t := n.get("type"); t != nil && len(n.obj) == 1 {
		return withTypes(rest, otherTypes(t)), nil
	}
	if vals, ok := excludedValues(n); ok {
		return excludeValues(rest, vals, nptr, unsupported)
	}
	if props := n.get("properties"); props != nil && props.kind == 'o' && len(props.obj) > 0 && onlyKeys(n, "properties", "required") {
		// not {properties: {k: S, ...}} (an if's condition): k present and
		// not S, for the first k; with required beside it, still enough.
		k := props.obj[0]
		cond := &jv{kind: 'o', obj: []kv{
			{"required", &jv{kind: 'a', arr: []*jv{{kind: 's', str: k.key}}}},
			{"properties", &jv{kind: 'o', obj: []kv{{k.key, &jv{kind: 'o', obj: []kv{{"not", k.val}}}}}}},
		}}
		return allOfJV(rest, cond), nil
	}
	return nil, unsupported
}

// onlyKeys reports whether every validation keyword of v is among keys.
func onlyKeys(v *jv, keys ...string) bool {
	for _, e := range v.obj {
		if _, ok := assertions[e.key]; ok && !slices.Contains(keys, e.key) {
			return false
		}
	}
	return true
}

// ifToAnyOf rewrites if/then/else as the union it means: anyOf [allOf [if,
// then], allOf [not if, else]] (a missing then or else admits anything);
// then and else without if are ignored, as JSON Schema says. Each branch
// is compiled as any union branch: one the scaffold cannot honour (a not
// of a condition in another form) is left out.
func ifToAnyOf(v *jv) *jv {
	if v.kind != 'o' || v.get("if") == nil && v.get("then") == nil && v.get("else") == nil {
		return v
	}
	rest := v.without("if", "then", "else")
	cond := v.get("if")
	if cond == nil {
		return rest
	}
	then, els := v.get("then"), v.get("else")
	if then == nil {
		then = &jv{kind: 'b', b: true}
	}
	if els == nil {
		els = &jv{kind: 'b', b: true}
	}
	branches := &jv{kind: 'a', arr: []*jv{
		{kind: 'o', obj: []kv{{"allOf", &jv{kind: 'a', arr: []*jv{cond, then}}}}},
		{kind: 'o', obj: []kv{{"allOf", &jv{kind: 'a', arr: []*jv{{kind: 'o', obj: []kv{{"not", cond}}}, els}}}}},
	}}
	if rest.get("anyOf") == nil && rest.get("oneOf") == nil {
		rest.obj = append(rest.obj, kv{"anyOf", branches})
		return rest
	}
	return &jv{kind: 'o', obj: []kv{{"allOf", &jv{kind: 'a', arr: []*jv{rest, {kind: 'o', obj: []kv{{"anyOf", branches}}}}}}}}
}

// requiredForms reads not's required lists: each inner list is a set of
// names that must not all be present.
func requiredForms(n *jv) ([][]string, bool) {
	names := func(r *jv) ([]string, bool) {
		if r == nil || r.kind != 'a' || len(r.arr) == 0 {
			return nil, false
		}
		var out []string
		for _, e := range r.arr {
			if e.kind != 's' {
				return nil, false
			}
			out = append(out, e.str)
		}
		return out, true
	}
	only := func(s *jv, kw string) bool { return s.kind == 'o' && len(s.obj) == 1 && s.obj[0].key == kw }
	switch {
	case only(n, "required"):
		l, ok := names(n.get("required"))
		return [][]string{l}, ok
	case only(n, "anyOf"):
		var out [][]string
		for _, br := range n.get("anyOf").arr {
			if !only(br, "required") {
				return nil, false
			}
			l, ok := names(br.get("required"))
			if !ok {
				return nil, false
			}
			out = append(out, l)
		}
		return out, len(out) > 0
	case only(n, "allOf"):
		var all []string
		for _, br := range n.get("allOf").arr {
			if !only(br, "required") {
				return nil, false
			}
			l, ok := names(br.get("required"))
			if !ok {
				return nil, false
			}
			all = append(all, l...)
		}
		return [][]string{all}, len(all) > 0
	}
	return nil, false
}

// forbid leaves out, for each list, its first name that v does not
// require (properties: {name: false}, merged as allOf).
func forbid(v *jv, lists [][]string, ptr string) (*jv, error) {
	req := map[string]bool{}
	if r := v.get("required"); r != nil && r.kind == 'a' {
		for _, e := range r.arr {
			req[e.str] = true
		}
	}
	props := &jv{kind: 'o'}
	for _, l := range lists {
		i := slices.IndexFunc(l, func(name string) bool { return !req[name] })
		if i < 0 {
			return nil, cerr(ptr, "not", "the properties %q are all required, which not forbids", l)
		}
		props.obj = append(props.obj, kv{l[i], falseJV})
	}
	return allOfJV(v, &jv{kind: 'o', obj: []kv{{"properties", props}}}), nil
}

var jsonTypes = []string{"null", "boolean", "object", "array", "number", "string", "integer"}

// otherTypes is the type list without those t names.
func otherTypes(t *jv) []string {
	var not []string
	switch t.kind {
	case 's':
		not = []string{t.str}
	case 'a':
		for _, e := range t.arr {
			not = append(not, e.str)
		}
	}
	var out []string
	for _, ty := range jsonTypes {
		if !slices.Contains(not, ty) && !(ty == "integer" && slices.Contains(not, "number")) {
			out = append(out, ty)
		}
	}
	return out
}

// withTypes is v restricted to types (merged as allOf).
func withTypes(v *jv, types []string) *jv {
	arr := &jv{kind: 'a'}
	for _, t := range types {
		arr.arr = append(arr.arr, &jv{kind: 's', str: t})
	}
	return allOfJV(v, &jv{kind: 'o', obj: []kv{{"type", arr}}})
}

// excludedValues reads not's values: enum, const, or anyOf of consts.
func excludedValues(n *jv) ([]string, bool) {
	if len(n.obj) != 1 {
		return nil, false
	}
	switch e := n.obj[0]; e.key {
	case "const":
		return []string{e.val.compact()}, true
	case "enum":
		if e.val.kind != 'a' {
			return nil, false
		}
		var out []string
		for _, x := range e.val.arr {
			out = append(out, x.compact())
		}
		return out, true
	case "anyOf":
		var out []string
		for _, br := range e.val.arr {
			vals, ok := excludedValues(br)
			if !ok {
				return nil, false
			}
			out = append(out, vals...)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// excludeValues drops vals from v's own enum or const (a boolean type
// becomes the enum of the booleans first); without one, unsupported.
func excludeValues(v *jv, vals []string, ptr string, unsupported error) (*jv, error) {
	var alts []*jv
	switch {
	case v.get("enum") != nil && v.get("enum").kind == 'a':
		alts = v.get("enum").arr
	case v.get("const") != nil:
		alts = []*jv{v.get("const")}
	case v.get("type") != nil && v.get("type").kind == 's' && v.get("type").str == "boolean":
		alts = []*jv{{kind: 'b', b: true}, {kind: 'b'}}
	default:
		return nil, unsupported
	}
	keep := &jv{kind: 'a'}
	for _, a := range alts {
		if !slices.Contains(vals, a.compact()) {
			keep.arr = append(keep.arr, a)
		}
	}
	if len(keep.arr) == 0 {
		return nil, cerr(ptr, "not", "every enum/const value is excluded")
	}
	out := v.without("enum", "const")
	out.obj = append(out.obj, kv{"enum", keep})
	return out, nil
}
