package schema

import (
	"math/big"
	"regexp"
	"slices"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// object compiles an object schema. Properties are laid out in schema
// order; one that admits no value here (a false schema, recursion past
// maxRecursion) is left out if optional. patternProperties and
// additionalProperties apply to the listed properties they match (merged
// as allOf) and give the schema of required names not listed; entries
// under other keys are laid out for dictionaries and for minProperties
// (see Dynamic).
// minProperties makes the first optional properties required,
// maxProperties leaves the last ones out, a dependentRequired
// (dependencies) name makes its dependants required wherever it is laid
// out, and propertyNames is checked against the names at compile time.
func (c *compiler) object(v *jv, ptr string, refs []string) (*Node, error) {
	n := &Node{Kind: Object, Ptr: ptr}
	ap := v.get("additionalProperties")
	apClosed := ap != nil && ap.kind == 'b' && !ap.b
	var order []string
	req := map[string]bool{}
	if r := v.get("required"); r != nil {
		if r.kind != 'a' {
			return nil, cerr(ptrJoin(ptr, "required"), "required", "not an array")
		}
		for _, e := range r.arr {
			if !req[e.str] {
				order = append(order, e.str)
			}
			req[e.str] = true
		}
	}
	props := v.get("properties")
	if props != nil && props.kind != 'o' {
		return nil, cerr(ptrJoin(ptr, "properties"), "properties", "not an object")
	}
	pats := v.get("patternProperties")
	if pats != nil && pats.kind != 'o' {
		return nil, cerr(ptrJoin(ptr, "patternProperties"), "patternProperties", "not an object")
	}
	// schemaOf is the schema of property name: its own, with every
	// matching patternProperties schema; additionalProperties if none.
	schemaOf := func(name string, own *jv) (*jv, string, error) {
		s, sptr := own, ptrJoin(ptrJoin(ptr, "properties"), name)
		matched := false
		if pats != nil {
			for _, pe := range pats.obj {
				re, err := regexp.Compile(pe.key)
				if err != nil {
					return nil, "", cerr(ptrJoin(ptrJoin(ptr, "patternProperties"), pe.key), "patternProperties", "pattern: %v", err)
				}
				if !re.MatchString(name) {
					continue
				}
				matched = true
				if s == nil {
					s, sptr = pe.val, ptrJoin(ptrJoin(ptr, "patternProperties"), pe.key)
				} else {
					s = allOfJV(s, pe.val)
				}
			}
		}
		if s == nil && !matched {
			switch {
			case apClosed:
				return nil, "", cerr(ptrJoin(ptr, "required"), "required", "property %q has no schema under properties and additionalProperties is false", name)
			case ap != nil && ap.kind == 'o':
				s, sptr = ap, ptrJoin(ptr, "additionalProperties")
			default:
				s = &jv{kind: 'b', b: true}
			}
		}
		return s, sptr, nil
	}
	var names []string
	own := map[string]*jv{}
	if props != nil {
		for _, e := range props.obj {
			names = append(names, e.key)
			own[e.key] = e.val
		}
	}
	for _, k := range order {
		if own[k] == nil && !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	deps, err := dependents(v, ptr)
	if err != nil {
		return nil, err
	}
	minP, err := intKeyword(v, ptr, "minProperties", 0)
	if err != nil {
		return nil, err
	}
	maxP, err := intKeyword(v, ptr, "maxProperties", -1)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		s, sptr, err := schemaOf(name, own[name])
		if err != nil {
			return nil, err
		}
		p, err := c.node(s, sptr, refs)
		if isAbsent(err) && !req[name] {
			continue
		}
		if err != nil {
			return nil, err
		}
		n.Props = append(n.Props, Prop{Name: name, Required: req[name], Node: p})
	}
	// Dependants of a laid-out property are required with it (being
	// present is always allowed).
	for changed := true; changed; {
		changed = false
		for i := range n.Props {
			for _, d := range deps[n.Props[i].Name] {
				j := slices.IndexFunc(n.Props, func(p Prop) bool { return p.Name == d })
				if j < 0 {
					if n.Props[i].Required {
						return nil, cerr(ptr, "dependentRequired", "%q requires %q, which has no schema under properties", n.Props[i].Name, d)
					}
					continue
				}
				if !n.Props[j].Required {
					n.Props[j].Required, changed = true, true
				}
			}
		}
	}
	// A property whose dependant cannot be laid out is left out.
	n.Props = slices.DeleteFunc(n.Props, func(p Prop) bool {
		for _, d := range deps[p.Name] {
			if !slices.ContainsFunc(n.Props, func(q Prop) bool { return q.Name == d }) {
				return true
			}
		}
		return false
	})
	nreq := 0
	for _, p := range n.Props {
		if p.Required {
			nreq++
		}
	}
	for i := range n.Props {
		if nreq >= minP {
			break
		}
		if !n.Props[i].Required {
			n.Props[i].Required = true
			nreq++
		}
	}
	if maxP >= 0 {
		if nreq > maxP {
			return nil, cerr(ptrJoin(ptr, "maxProperties"), "maxProperties", "%d required properties, over maxProperties %d", nreq, maxP)
		}
		room := maxP - nreq
		n.Props = slices.DeleteFunc(n.Props, func(p Prop) bool {
			if p.Required {
				return false
			}
			if room > 0 {
				room--
				return false
			}
			return true
		})
	}
	if pn := v.get("propertyNames"); pn != nil {
		n.Names = ptrJoin(ptr, "propertyNames")
	}
	// Entries under keys not listed: a dictionary's, or what minProperties
	// needs beyond the listed properties.
	if err := c.dynamic(dynArgs{v, ptr, refs, n, nreq, minP, maxP}); err != nil {
		return nil, err
	}
	return n, nil
}

// dependents reads dependentRequired (and dependencies, its draft-07 form
// for name lists): property -> the properties it requires.
func dependents(v *jv, ptr string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, kw := range []string{"dependentRequired", "dependencies"} {
		d := v.get(kw)
		if d == nil {
			continue
		}
		if d.kind != 'o' {
			return nil, cerr(ptrJoin(ptr, kw), kw, "not an object")
		}
		for _, e := range d.obj {
			if e.val.kind != 'a' {
				return nil, cerr(ptrJoin(ptrJoin(ptr, kw), e.key), kw, "a schema dependency is not supported (only lists of names)")
			}
			for _, x := range e.val.arr {
				out[e.key] = append(out[e.key], x.str)
			}
		}
	}
	return out, nil
}

// checkNames drops optional properties whose names propertyNames refuses;
// a refused required name is a *CompileError.
func checkNames(jc *jsonschema.Compiler, n *Node, seen map[*Node]bool) error {
	if seen[n] {
		return nil
	}
	seen[n] = true
	for _, c := range slices.Concat(n.Prefix, n.Branches, []*Node{n.Items}, n.dynNodes()) {
		if c != nil {
			if err := checkNames(jc, c, seen); err != nil {
				return err
			}
		}
	}
	for _, p := range n.Props {
		if err := checkNames(jc, p.Node, seen); err != nil {
			return err
		}
	}
	if n.Names == "" {
		return nil
	}
	sub, err := subschema(jc, n.Names)
	if err != nil {
		return nil // the final validation still guards
	}
	var keep []Prop
	for _, p := range n.Props {
		if sub.Validate(p.Name) == nil {
			keep = append(keep, p)
		} else if p.Required {
			return cerr(n.Names, "propertyNames", "required property %q is not a valid name", p.Name)
		}
	}
	n.Props = keep
	return nil
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

// array compiles an array schema: items (any value if absent), or a
// tuple (prefixItems, or items as an array before 2020-12) laid out item
// by item, its items all present. An item schema that admits no value here
// (recursion past maxRecursion) makes an array of at most 0 items, if
// minItems allows.
func (c *compiler) array(v *jv, ptr string, refs []string) (*Node, error) {
	n := &Node{Kind: Array, Ptr: ptr}
	var err error
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
	if u := v.get("uniqueItems"); u != nil && u.kind == 'b' {
		n.Unique = u.b
	}
	items, itemsKw := v.get("items"), "items"
	tuple, tupleKw := v.get("prefixItems"), "prefixItems"
	if items != nil && items.kind == 'a' {
		tuple, tupleKw = items, "items"
		items, itemsKw = v.get("additionalItems"), "additionalItems"
	}
	if tuple != nil {
		if tuple.kind != 'a' {
			return nil, cerr(ptrJoin(ptr, tupleKw), tupleKw, "not an array")
		}
		for i, e := range tuple.arr {
			if n.MaxItems >= 0 && i >= n.MaxItems || i >= 64 {
				break
			}
			it, err := c.node(e, ptrJoin(ptrJoin(ptr, tupleKw), strconv.Itoa(i)), refs)
			if isAbsent(err) && i >= n.MinItems {
				break
			}
			if err != nil {
				return nil, err
			}
			n.Prefix = append(n.Prefix, it)
		}
		if len(n.Prefix) < n.MinItems {
			// The items after the tuple's are needed.
			if items == nil {
				items = &jv{kind: 'b', b: true}
			}
		} else {
			items = nil // a tuple scaffolds its own items only
		}
	}
	if tuple == nil && items == nil {
		items = &jv{kind: 'b', b: true}
	}
	if items != nil {
		n.Items, err = c.node(items, ptrJoin(ptr, itemsKw), refs)
		if isAbsent(err) && n.MinItems <= len(n.Prefix) {
			n.Items, err = nil, nil
			if tuple == nil {
				n.MaxItems = 0
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// maxMinLength bounds minLength: the slot languages count code points up
// to it in one byte of their state, and a slot holds at most maxSlotWidth
// tokens.
const maxMinLength = 255

func (c *compiler) str(v *jv, ptr string) (*Node, error) {
	n := &Node{Kind: String, Ptr: ptr}
	var err error
	if n.MinLen, err = intKeyword(v, ptr, "minLength", 0); err != nil {
		return nil, err
	}
	if n.MaxLen, err = intKeyword(v, ptr, "maxLength", -1); err != nil {
		return nil, err
	}
	if n.MinLen > maxMinLength {
		return nil, cerr(ptrJoin(ptr, "minLength"), "minLength", "above %d is not supported", maxMinLength)
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
	if f := v.get("format"); f != nil && f.kind == 's' && formatPatterns[f.str] != "" {
		// Other formats are annotations: the validator asserts only the
		// formats it knows, and formatPatterns covers all of those.
		n.Format = f.str // with a pattern, both are matched (patString.and)
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
	// Draft-04: exclusiveMinimum/Maximum are booleans that make minimum
	// and maximum exclusive.
	boolExcl := func(kw string) bool {
		e := v.get(kw)
		return e != nil && e.kind == 'b'
	}
	var emin, emax string
	var err2 error
	if boolExcl("exclusiveMinimum") {
		n.ExclMin = v.get("exclusiveMinimum").b && n.Min != ""
	} else if emin, err2 = get("exclusiveMinimum"); err2 != nil {
		return nil, err2
	}
	if boolExcl("exclusiveMaximum") {
		n.ExclMax = v.get("exclusiveMaximum").b && n.Max != ""
	} else if emax, err2 = get("exclusiveMaximum"); err2 != nil {
		return nil, err2
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
