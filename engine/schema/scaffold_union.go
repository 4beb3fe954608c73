package schema

import (
	"context"
	"math"
	"strings"
)

// A union (anyOf/oneOf) is laid out once its branch is chosen. Until then
// the canvas holds nothing at its place (inst.at); the canvas before it is
// decoded (or, for bidirectional models, left masked), each branch's heads
// (the tokens its layout opens with, up to and including its first value's
// first tokens) are scored there, and the branch with the most probable
// head is built and laid out, which moves everything after it.

// maxHeads bounds the heads scored per branch.
const maxHeads = 16

// branchScorer returns log p(head | prefix) for each head, the prefix
// being the canvas before the union (after the prompt).
type branchScorer func(ctx context.Context, prefix []int32, heads [][]int32) (scores []float64, forwards int, err error)

// nextUnion is the unchosen union that starts first on the canvas, nil if
// none.
func (s *Scaffold) nextUnion() *inst {
	var first *inst
	for _, u := range s.unions {
		if first == nil || u.at < first.at {
			first = u
		}
	}
	return first
}

// resolve lays out branch pick of union u (the canvas is laid out again).
func (s *Scaffold) resolve(u *inst, pick int) error {
	c, err := s.b.build(u.node.Branches[pick], u.path, u.absentOK)
	if err != nil {
		return err
	}
	u.branch = c
	if u.optItem {
		setPresence(u)
	}
	for i, x := range s.unions {
		if x == u {
			s.unions = append(s.unions[:i], s.unions[i+1:]...)
			break
		}
	}
	s.layout()
	return nil
}

// chooseBranch scores u's branches with score given the canvas before it
// and lays out the best one.
func (s *Scaffold) chooseBranch(ctx context.Context, u *inst, prefix []int32, score branchScorer) (forwards int, err error) {
	var heads [][]int32
	var owner []int
	for i, br := range u.node.Branches {
		for _, h := range s.b.heads(br, 0) {
			heads = append(heads, h)
			owner = append(owner, i)
		}
	}
	scores, forwards, err := score(ctx, prefix, heads)
	if err != nil {
		return forwards, err
	}
	// A branch's score is the probability of any of its heads.
	best, pick := math.Inf(-1), 0
	for i := range u.node.Branches {
		tot := math.Inf(-1)
		for j, o := range owner {
			if o == i {
				tot = logAdd(tot, scores[j])
			}
		}
		if tot > best {
			best, pick = tot, i
		}
	}
	return forwards, s.resolve(u, pick)
}

func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := max(a, b)
	return m + math.Log(math.Exp(a-m)+math.Exp(b-m))
}

// heads are the token sequences a branch laid out at the start of a union
// opens with: its fixed text up to its first value, then that value's
// first tokens (each enum value, each leading digit or minus sign, a
// nested union's heads); a string's head is its fixed text with the
// opening quote.
func (b *builder) heads(n *Node, depth int) [][]int32 {
	text, stop := headText(n, b.opts.ArrayItems)
	fixed := b.s.tok.Encode(text)
	if stop == nil || stop.Kind == String || depth > 3 {
		return [][]int32{fixed}
	}
	var tails [][]int32
	switch stop.Kind {
	case Number:
		for _, d := range strings.Split("-0123456789", "") {
			if d == "-" && stop.Min != "" && ratCmp(stop.Min, "0") >= 0 {
				continue
			}
			tails = append(tails, b.encode(d))
		}
	case Choice:
		for _, a := range stop.Alts {
			tails = append(tails, b.encode(a))
		}
	case Union:
		for _, br := range stop.Branches {
			tails = append(tails, b.heads(br, depth+1)...)
		}
	}
	var out [][]int32
	for _, t := range tails {
		if len(out) == maxHeads {
			break
		}
		if h := append(append([]int32(nil), fixed...), t...); len(h) > 0 {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return [][]int32{fixed}
	}
	return out
}

// headText is the fixed text a layout of n starts with, up to its first
// value slot (stop: a string, number, choice or union node; nil if n has
// none), a string's opening quote included.
func headText(n *Node, items int) (string, *Node) {
	var sb strings.Builder
	var walk func(n *Node) *Node
	walk = func(n *Node) *Node {
		switch n.Kind {
		case Object:
			sb.WriteByte('{')
			for i, p := range n.Props {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString(jsonQuote(p.Name))
				sb.WriteString(": ")
				if stop := walk(p.Node); stop != nil {
					return stop
				}
			}
			if d := n.Dyn; d != nil && dynEntries(d, items) > 0 {
				if len(n.Props) > 0 {
					sb.WriteString(", ")
				}
				if d.Key.Kind == String {
					sb.WriteByte('"')
				}
				return d.Key
			}
			sb.WriteByte('}')
		case Array:
			sb.WriteByte('[')
			for i := range arrayItems(n, items) {
				if i > 0 {
					sb.WriteString(", ")
				}
				item := n.Items
				if i < len(n.Prefix) {
					item = n.Prefix[i]
				}
				if stop := walk(item); stop != nil {
					return stop
				}
			}
			sb.WriteByte(']')
		case String:
			sb.WriteByte('"')
			return n
		default:
			return n
		}
		return nil
	}
	stop := walk(n)
	return sb.String(), stop
}
