package schema

import (
	"encoding/json"
	"fmt"
)

// Dynamic is an object's entries under keys the schema does not list: a
// dictionary (an object with no properties whose patternProperties or
// additionalProperties give the entries' schema), or the entries that
// minProperties needs beyond the listed properties. Each entry is a key
// slot and a value: `"key": value`.
type Dynamic struct {
	// Key is the key's node: a String (patternProperties' pattern, or
	// propertyNames' string constraints; at least one character) or a
	// Choice of strings (propertyNames' enum).
	Key   *Node
	Value *Node // the entries' schema
	// Min entries are always laid out (minProperties beyond the listed
	// properties); a dictionary lays out up to Options.ArrayItems, never
	// more than Max (maxProperties' room; -1: unbounded). An entry past
	// Min is left out when its key slot comes out empty.
	Min, Max int
	Dict     bool
}

// dynEntries is how many entries a scaffold lays out for d.
func dynEntries(d *Dynamic, items int) int {
	k := d.Min
	if d.Dict {
		k = max(k, items)
	}
	if d.Max >= 0 {
		k = min(k, max(d.Max, d.Min))
	}
	return k
}

// dynamic gives the object a.n its Dynamic entries where the schema needs
// or describes them (none: Dyn stays nil); an error when minProperties
// needs entries that no key may take. Max is counted against every
// laid-out property (each may be present).
func (c *compiler) dynamic(a dynArgs) error {
	dict, need := a.dict(), a.minP-a.nreq
	switch {
	case !dict && need <= 0:
		return nil
	case need <= 0:
		// A dictionary's entries are optional: compiled once the rest of
		// the schema has (compileDicts), and left out ({}) if they cannot
		// be, so an entry schema the compiler cannot honour never costs
		// the schema.
		c.dicts = append(c.dicts, pendingDict{a, c.depth})
		return nil
	}
	return c.dynamicNow(a)
}

// dynArgs are an object's schema v at ptr, its node n, the refs followed
// to it, its nreq required properties and its minProperties and
// maxProperties (-1: none).
type dynArgs struct {
	v                *jv
	ptr              string
	refs             []string
	n                *Node
	nreq, minP, maxP int
}

// dict reports whether the object is a dictionary: no properties, and
// patternProperties or additionalProperties giving the entries' schema.
func (a dynArgs) dict() bool {
	ap, pats := a.v.get("additionalProperties"), a.v.get("patternProperties")
	return len(a.n.Props) == 0 && (pats != nil && len(pats.obj) > 0 || ap != nil && ap.kind == 'o')
}

// pendingDict is a dictionary whose entries compileDicts compiles, at the
// nesting depth it was found.
type pendingDict struct {
	dynArgs
	depth int
}

// compileDicts compiles the pending dictionaries' entries (and those of
// dictionaries inside them), each within what MaxSubschemas leaves: a
// dictionary whose entries fail to compile stays {} and gives back the
// subschemas it took. Work on failed ones is bounded by MaxSubschemas in
// all; past it the remaining dictionaries stay {}.
func (c *compiler) compileDicts() {
	wasted := 0
	for i := 0; i < len(c.dicts) && wasted <= MaxSubschemas; i++ {
		p := c.dicts[i]
		nodes, depth := c.nodes, c.depth
		c.depth = p.depth
		err := c.dynamicNow(p.dynArgs)
		c.depth = depth
		if err != nil {
			wasted += c.nodes - nodes
			c.nodes, p.n.Dyn = nodes, nil
		}
	}
	c.dicts = nil
}

// dynamicNow compiles the object's Dynamic entries (see dynamic).
func (c *compiler) dynamicNow(a dynArgs) error {
	v, ptr, refs, n, nreq, minP, maxP := a.v, a.ptr, a.refs, a.n, a.nreq, a.minP, a.maxP
	ap, pats := v.get("additionalProperties"), v.get("patternProperties")
	apClosed := ap != nil && ap.kind == 'b' && !ap.b
	dict, need := a.dict(), minP-nreq
	d := &Dynamic{Min: max(need, 0), Max: -1, Dict: dict}
	if maxP >= 0 {
		d.Max = maxP - len(n.Props)
	}
	var keyDoc, keyPtr, valPtr string
	var val *jv
	switch {
	case pats != nil && len(pats.obj) > 0:
		// The first pattern's keys and schema: other patterns the key
		// might also match are checked by the validation.
		pe := pats.obj[0]
		q, _ := json.Marshal(pe.key)
		valPtr = ptrJoin(ptrJoin(ptr, "patternProperties"), pe.key)
		keyDoc, keyPtr, val = fmt.Sprintf(`{"type":"string","minLength":1,"pattern":%s}`, q), valPtr, pe.val
	case apClosed:
		return cerr(ptrJoin(ptr, "minProperties"), "minProperties", "%d properties needed but %d can be laid out (additionalProperties is false)", minP, nreq)
	default:
		valPtr = ptrJoin(ptr, "additionalProperties")
		keyDoc, keyPtr, val = `{"type":"string","minLength":1,"maxLength":32}`, valPtr, ap
		if val == nil {
			val = &jv{kind: 'b', b: true}
		}
	}
	key, err := c.dynKey(v, ptr, keyDoc, keyPtr, refs)
	if err != nil {
		if d.Min == 0 {
			return nil // a dictionary whose keys cannot be scaffolded stays {}
		}
		return err
	}
	if d.Value, err = c.node(val, valPtr, refs); err != nil {
		if isAbsent(err) && d.Min == 0 {
			return nil // no entry may be present
		}
		return err
	}
	d.Key = key
	n.Dyn = d
	return nil
}

// dynKey compiles the key node: propertyNames where it is a string (or a
// choice of strings) schema, else keyDoc.
func (c *compiler) dynKey(v *jv, ptr, keyDoc, keyPtr string, refs []string) (*Node, error) {
	if pn := v.get("propertyNames"); pn != nil && pn.kind == 'o' && v.get("patternProperties") == nil {
		k, err := c.node(pn, ptrJoin(ptr, "propertyNames"), refs)
		if err == nil && k.Kind == String && !k.Nullable {
			cp := *k
			cp.MinLen = max(cp.MinLen, 1)
			return &cp, nil
		}
		if err == nil && k.Kind == Choice && stringAlts(k.Alts) {
			return k, nil
		}
		if err == nil {
			err = cerr(ptrJoin(ptr, "propertyNames"), "propertyNames", "keys of this form (%s) cannot be scaffolded", k.Kind)
		}
		return nil, err // a free key could break propertyNames
	}
	doc, err := parseJSON([]byte(keyDoc))
	if err != nil {
		return nil, err
	}
	return c.node(doc, keyPtr, refs)
}

// stringAlts reports whether every alternative is a JSON string.
func stringAlts(alts []string) bool {
	for _, a := range alts {
		if len(a) < 2 || a[0] != '"' {
			return false
		}
	}
	return len(alts) > 0
}

// dynNodes are n's dynamic key and value nodes (none without Dyn).
func (n *Node) dynNodes() []*Node {
	if n.Dyn == nil {
		return nil
	}
	return []*Node{n.Dyn.Key, n.Dyn.Value}
}
