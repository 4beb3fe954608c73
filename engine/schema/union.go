package schema

import (
	"slices"
	"strconv"
)

// anyOf and oneOf compile to a Union node whose branches are scaffolded one
// at a time: the extraction scores each branch's opening tokens under the
// model, in context, as it scores enum values (unionscore.go), then lays
// out the chosen branch. Keywords beside the union apply to every branch
// (merged into each as allOf). Shortcuts keep common forms simple: a null
// branch makes the others nullable, branches that are all choices become
// one choice (each value then checked against the union by the validator,
// so a oneOf value matching two branches is dropped), and a single
// remaining branch is that branch. A branch the compiler cannot honour is
// left out (the union stays valid with the others); with none left, the
// first branch's error is the union's.

func (c *compiler) union(v *jv, ptr string, refs []string) (*Node, error) {
	kw := "anyOf"
	if v.get("oneOf") != nil {
		if v.get("anyOf") != nil {
			return nil, cerr(ptr, "oneOf", "anyOf and oneOf in one schema object are not supported")
		}
		kw = "oneOf"
	}
	arr := v.get(kw)
	if arr.kind != 'a' || len(arr.arr) == 0 {
		return nil, cerr(ptrJoin(ptr, kw), kw, "must be a non-empty array")
	}
	base := v.without(kw)
	var nodes []*Node
	var first error
	nullable := false
	for i, b := range arr.arr {
		bptr := ptrJoin(ptrJoin(ptr, kw), strconv.Itoa(i))
		var n *Node
		var err error
		if constrains(base) {
			var merged *jv
			if merged, err = c.merge(bptr, []*jv{base, b}, refs); err == nil {
				n, err = c.node(merged, bptr, refs)
			}
		} else {
			n, err = c.node(b, bptr, refs)
		}
		if err != nil {
			if first == nil || isAbsent(first) && !isAbsent(err) {
				first = err
			}
			continue
		}
		if n.Kind == Choice && len(n.Alts) == 1 && n.Alts[0] == "null" {
			nullable = true
			continue
		}
		nodes = append(nodes, n)
	}
	switch {
	case len(nodes) == 0 && nullable:
		return &Node{Kind: Choice, Ptr: ptr, Alts: []string{"null"}}, nil
	case len(nodes) == 0:
		return nil, first
	case len(nodes) == 1:
		n := nodes[0]
		if nullable {
			makeNullable(n)
		}
		return n, nil
	}
	if !slices.ContainsFunc(nodes, func(n *Node) bool { return n.Kind != Choice }) {
		ch := &Node{Kind: Choice, Ptr: ptr}
		for _, n := range nodes {
			for _, a := range n.Alts {
				if !slices.Contains(ch.Alts, a) {
					ch.Alts = append(ch.Alts, a)
				}
			}
		}
		if nullable && !slices.Contains(ch.Alts, "null") {
			ch.Alts = append(ch.Alts, "null")
		}
		if len(ch.Alts) > MaxEnumValues {
			return nil, cerr(ptrJoin(ptr, kw), kw, "%d values, over the limit of %d (MaxEnumValues)", len(ch.Alts), MaxEnumValues)
		}
		return ch, nil
	}
	if nullable {
		nodes = append(nodes, &Node{Kind: Choice, Ptr: ptr, Alts: []string{"null"}})
	}
	return &Node{Kind: Union, Ptr: ptr, Branches: nodes}, nil
}
