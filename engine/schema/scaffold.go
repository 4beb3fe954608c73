package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"dlmstream/engine/tokenizer"
)

const maxSlotWidth = 96

// slot is one value position of the canvas: a free slot decoded under its
// language's constraint, or a choice filled by scoring.
type slot struct {
	path     string // instance pointer in the scaffold (before collapsing)
	node     *Node
	choice   bool
	padOK    bool // all pads: absent (optional) or null
	optional bool
	width    int
	start    int
	lang     *dfa
	alts     [][]int32 // choice: token sequences, nil for "absent"
	altText  []string  // choice: JSON text, "" for absent
	pick     int       // choice: the chosen alternative (-1: not yet)
	keep     []int32   // repair: tokens kept from the previous round
}

type inst struct {
	node     *Node
	leaf     *slot
	props    []instProp
	items    []*inst
	presence *slot // array item beyond minItems: dropped if this slot is empty

	// Union: the chosen branch (nil until scored), where it starts on the
	// canvas, and what its branch is built with.
	branch   *inst
	at       int
	path     string
	absentOK bool
	optItem  bool // an array item beyond minItems
}

type instProp struct {
	name     string
	optional bool
	v        *inst
	key      *inst // a dynamic entry's key slot (name unused)
}

// Scaffold is a schema laid out as a canvas for one tokenizer: fixed
// tokens for the JSON structure and mask slots for values.
type Scaffold struct {
	Template []int32 // the canvas: fixed tokens, mask ids in slots
	v        *vocab
	tok      *tokenizer.Tokenizer
	root     *inst
	slots    []*slot
	opts     Options
	b        *builder
	unions   []*inst // unions whose branch is not chosen yet
}

// langKey names a slot automaton: slots of one node share it across the
// scaffolds (and extractions) of a schema.
type langKey struct {
	n *Node
	v *vocab
}

func langFor(sch *Schema, n *Node, v *vocab) (*dfa, error) {
	if d, ok := sch.langs.Load(langKey{n, v}); ok {
		return d.(*dfa), nil
	}
	var d *dfa
	switch n.Kind {
	case String:
		maxLen := n.MaxLen
		expr, and := n.Pattern, ""
		if n.Format != "" {
			expr, and = formatPatterns[n.Format], n.Pattern
			if fm, ok := formatMaxLen[n.Format]; ok && (maxLen < 0 || fm < maxLen) {
				maxLen = fm
			}
		}
		if expr == "" {
			d = newDFA(freeString{minLen: n.MinLen}, v, maxLen, func(b byte) bool { return b >= 0x20 && b != 0x7F })
		} else {
			p, err := newPattern(expr)
			if err != nil {
				return nil, err
			}
			ps := patString{p: p, minLen: n.MinLen}
			if and != "" { // a format with a pattern: both must match
				if ps.and, err = newPattern(and); err != nil {
					return nil, err
				}
			}
			// Escapes and multi-byte characters are assembled by the
			// language, so any token of a JSON string body may take part.
			d = newDFA(ps, v, maxLen, func(b byte) bool { return b >= 0x20 && b != 0x7F })
			// Tokens of whole code points, and single bytes (which spell
			// every character in a byte-level vocabulary) for the
			// characters the pattern names (pattern.prefixes): pieces of
			// any character would multiply the states of the token tables.
			keep := d.cands[:0]
			clear(d.candIx)
			for _, id := range d.cands {
				if s := v.bytes[id]; utf8.Valid(s) || len(s) == 1 && len(p.prefixes) > 0 {
					d.candIx[id] = int32(len(keep))
					keep = append(keep, id)
				}
			}
			d.cands = keep
		}
	case Number:
		d = newDFA(newNumber(n), v, -1, func(b byte) bool { return b >= '0' && b <= '9' || b == '-' || b == '.' })
	default:
		return nil, fmt.Errorf("schema: no language for %v", n.Kind)
	}
	act, _ := sch.langs.LoadOrStore(langKey{n, v}, d)
	return act.(*dfa), nil
}

type builder struct {
	s    *Scaffold
	sch  *Schema
	opts Options

	values, tokens int                // laid out so far (MaxScaffoldValues, MaxCanvasTokens)
	spare          int                // values optional parts may still take (afford)
	spareTokens    int                // canvas tokens optional parts may still take
	all            bool               // every optional part is laid out (unionBound's upper bound)
	minimal        bool               // no optional part (reserve, afford)
	enc            map[string][]int32 // choice alternatives already tokenized
}

func (b *builder) encode(alt string) []int32 {
	ids, ok := b.enc[alt]
	if !ok {
		ids = b.s.tok.Encode(alt)
		b.enc[alt] = ids
	}
	return ids
}

// newScaffold expands the schema's arrays and sizes its slots.
func newScaffold(sch *Schema, tok *tokenizer.Tokenizer, v *vocab, opts Options) (*Scaffold, error) {
	s := &Scaffold{v: v, tok: tok, opts: opts}
	b := &builder{s: s, sch: sch, opts: opts, enc: map[string][]int32{}}
	s.b = b
	if err := b.reserve(); err != nil {
		return nil, err
	}
	root, err := b.build(sch.Root, "", false)
	if err != nil {
		return nil, err
	}
	s.root = root
	s.layout()
	return s, nil
}

func (b *builder) build(n *Node, path string, absentOK bool) (*inst, error) {
	in := &inst{node: n}
	switch n.Kind {
	case Object:
		if err := b.grow(n, 1, 2); err != nil {
			return nil, err
		}
		for _, p := range n.Props {
			if !p.Required && !b.afford(len(p.Name)+4, p.Node) {
				continue // left out: over MaxScaffoldValues
			}
			if err := b.grow(n, 0, len(p.Name)+4); err != nil { // "name": and a comma, in bytes
				return nil, err
			}
			c, err := b.build(p.Node, ptrJoin(path, p.Name), !p.Required)
			if err != nil {
				return nil, err
			}
			in.props = append(in.props, instProp{name: p.Name, optional: !p.Required, v: c})
		}
		if d := n.Dyn; d != nil {
			for i := range dynEntries(d, b.opts.ArrayItems) {
				// An entry past Min is present if its key slot is not
				// empty; its value is laid out whole.
				opt := i >= d.Min
				if opt && !b.afford(4, d.Key, d.Value) {
					break
				}
				if err := b.grow(n, 0, 4); err != nil { // ": " and a comma
					return nil, err
				}
				at := path + "/~" + strconv.Itoa(i)
				key, err := b.build(d.Key, at+"~key", opt)
				if err != nil {
					return nil, err
				}
				val, err := b.build(d.Value, at, false)
				if err != nil {
					return nil, err
				}
				in.props = append(in.props, instProp{optional: opt, v: val, key: key})
			}
		}
	case Array:
		k := arrayItems(n, b.opts.ArrayItems)
		if err := b.grow(n, 1, 2+k); err != nil {
			return nil, err
		}
		for i := range k {
			opt := i >= max(n.MinItems, len(n.Prefix))
			item := n.Items
			if i < len(n.Prefix) {
				item = n.Prefix[i]
			}
			if opt && !b.afford(0, item) {
				break // fewer optional items: over MaxScaffoldValues
			}
			c, err := b.build(item, path+"/"+strconv.Itoa(i), opt)
			if err != nil {
				return nil, err
			}
			if opt {
				c.optItem = true
				setPresence(c)
			}
			in.items = append(in.items, c)
		}
	case Union:
		if err := b.grow(n, 1, 0); err != nil {
			return nil, err
		}
		in.path, in.absentOK = path, absentOK
		b.s.unions = append(b.s.unions, in)
	case Choice:
		sl := &slot{path: path, node: n, choice: true, optional: absentOK, padOK: absentOK, pick: -1}
		width := 1
		for _, a := range n.Alts {
			ids := b.encode(a)
			width = max(width, len(ids))
			sl.alts = append(sl.alts, ids)
			sl.altText = append(sl.altText, a)
		}
		if err := b.grow(n, 1, width); err != nil {
			return nil, err
		}
		if absentOK {
			sl.alts = append(sl.alts, nil)
			sl.altText = append(sl.altText, "")
		}
		in.leaf = sl
		b.s.slots = append(b.s.slots, sl)
	default:
		d, err := langFor(b.sch, n, b.s.v)
		if err != nil {
			return nil, cerr(n.Ptr, "pattern", "%v", err)
		}
		sl := &slot{path: path, node: n, optional: absentOK, padOK: absentOK || n.Nullable, lang: d, pick: -1}
		sl.width = b.opts.NumberBudget
		if n.Kind == String {
			sl.width = b.opts.StringBudget
			if n.MaxLen >= 0 {
				sl.width = max(1, min(sl.width, n.MaxLen))
			}
		}
		for !d.feasible(sl.width, b.s.v.mask) {
			if sl.width >= maxSlotWidth {
				return nil, cerr(n.Ptr, n.Kind.String(), "no value fits in %d tokens of this vocabulary", maxSlotWidth)
			}
			sl.width = min(maxSlotWidth, sl.width*2)
		}
		if err := b.grow(n, 1, sl.width+2); err != nil {
			return nil, err
		}
		in.leaf = sl
		b.s.slots = append(b.s.slots, sl)
	}
	return in, nil
}

// setPresence makes an optional array item's first value slot (reached
// through objects and chosen union branches) its presence: the item is
// dropped if that slot comes out empty.
func setPresence(c *inst) {
	if c.presence = presenceSlot(c); c.presence != nil {
		c.presence.padOK, c.presence.optional = true, true
		if c.presence.choice && c.presence.alts[len(c.presence.alts)-1] != nil {
			c.presence.alts = append(c.presence.alts, nil)
			c.presence.altText = append(c.presence.altText, "")
		}
	}
}

// presenceSlot is the first value slot of an item reached through objects.
func presenceSlot(in *inst) *slot {
	if in.leaf != nil {
		return in.leaf
	}
	if in.branch != nil {
		return presenceSlot(in.branch)
	}
	for _, p := range in.props {
		if p.key != nil {
			return p.key.leaf
		}
		if s := presenceSlot(p.v); s != nil {
			return s
		}
	}
	return nil
}

// layout writes the canvas: JSON structure as fixed tokens, slots as masks
// (or their chosen or kept tokens, padded).
func (s *Scaffold) layout() {
	var toks []int32
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			toks = append(toks, s.tok.Encode(text.String())...)
			text.Reset()
		}
	}
	var walk func(in *inst)
	walk = func(in *inst) {
		switch {
		case in.leaf != nil:
			sl := in.leaf
			quoted := !sl.choice && sl.node.Kind == String
			if quoted {
				text.WriteByte('"')
			}
			flush()
			sl.start = len(toks)
			var fill []int32
			switch {
			case sl.choice:
				sl.width = 1
				for _, a := range sl.alts {
					sl.width = max(sl.width, len(a))
				}
				if sl.pick >= 0 {
					fill = sl.alts[sl.pick]
				}
			case sl.keep != nil:
				fill = sl.keep
			}
			for i := range sl.width {
				switch {
				case i < len(fill):
					toks = append(toks, fill[i])
				case sl.pick >= 0 || sl.keep != nil:
					toks = append(toks, s.v.pad)
				default:
					toks = append(toks, s.v.mask)
				}
			}
			if quoted {
				text.WriteByte('"')
			}
		case in.node.Kind == Union:
			// A union always starts a new run of fixed text, so that the
			// canvas before it keeps its tokens once a branch is laid out.
			flush()
			in.at = len(toks)
			if in.branch != nil {
				walk(in.branch)
			}
		case in.node.Kind == Object:
			text.WriteByte('{')
			for i, p := range in.props {
				if i > 0 {
					text.WriteString(", ")
				}
				if p.key != nil {
					walk(p.key)
				} else {
					text.WriteString(jsonQuote(p.name))
				}
				text.WriteString(": ")
				walk(p.v)
			}
			text.WriteByte('}')
		case in.node.Kind == Array:
			text.WriteByte('[')
			for i, it := range in.items {
				if i > 0 {
					text.WriteString(", ")
				}
				walk(it)
			}
			text.WriteByte(']')
		}
	}
	walk(s.root)
	flush()
	s.Template = toks
}

// Render shows the canvas for humans and golden files: fixed text as is,
// each slot as ⟨kind width path⟩.
func (s *Scaffold) Render() string {
	var sb strings.Builder
	next := 0
	type mark struct {
		sl *slot
		u  *inst
	}
	var marks []mark
	for _, sl := range s.slots {
		marks = append(marks, mark{sl: sl})
	}
	for _, u := range s.unions {
		marks = append(marks, mark{u: u})
	}
	at := func(m mark) int {
		if m.u != nil {
			return m.u.at
		}
		return m.sl.start
	}
	slices.SortStableFunc(marks, func(a, b mark) int { return at(a) - at(b) })
	for _, m := range marks {
		if m.u != nil {
			sb.WriteString(s.tok.Decode(s.Template[next:m.u.at], false))
			fmt.Fprintf(&sb, "⟨union%d %s⟩", len(m.u.node.Branches), m.u.path)
			next = m.u.at
			continue
		}
		sl := m.sl
		sb.WriteString(s.tok.Decode(s.Template[next:sl.start], false))
		kind := sl.node.Kind.String()
		if sl.choice {
			kind = "choice" + strconv.Itoa(len(sl.alts))
		}
		flags := ""
		if sl.optional {
			flags = "?"
		} else if sl.padOK {
			flags = "|null"
		}
		fmt.Fprintf(&sb, "⟨%s%s %d %s⟩", kind, flags, sl.width, sl.path)
		next = sl.start + sl.width
	}
	sb.WriteString(s.tok.Decode(s.Template[next:], false))
	return sb.String()
}

// constraint restricts every free slot of a scaffold to tokens that keep
// the slot completable (whatever the order of commits).
type constraint struct {
	s  *Scaffold
	at []int32 // canvas position -> slot index, -1 fixed
	// done is the canvas decoded before the segment being decoded (choices
	// scored in context split the canvas); gen and pos count from its end.
	done []int32
}

// after is c for a segment that starts after the decoded canvas done.
func (c *constraint) after(done []int32) *constraint {
	return &constraint{s: c.s, at: c.at, done: done}
}

func newConstraint(s *Scaffold) *constraint {
	c := &constraint{s: s, at: make([]int32, len(s.Template))}
	for i := range c.at {
		c.at[i] = -1
	}
	for i, sl := range s.slots {
		if sl.choice || sl.keep != nil {
			continue
		}
		for p := sl.start; p < sl.start+sl.width; p++ {
			c.at[p] = int32(i)
		}
	}
	return c
}

func (c *constraint) view(gen []int32, sl *slot) []int32 {
	toks := make([]int32, sl.width)
	for i := range toks {
		switch p := sl.start + i; {
		case p < len(c.done):
			toks[i] = c.done[p]
		case p-len(c.done) < len(gen):
			toks[i] = gen[p-len(c.done)]
		default:
			toks[i] = c.s.Template[p]
		}
	}
	return toks
}

var negInf = float32(math.Inf(-1))

func (c *constraint) Restrict(gen []int32, pos int, logits []float32) {
	pos += len(c.done)
	if pos >= len(c.at) {
		return
	}
	i := c.at[pos]
	if i < 0 { // a fixed position is never decoded; keep its token anyway
		keep := c.s.Template[pos]
		for t := range logits {
			if int32(t) != keep {
				logits[t] = negInf
			}
		}
		return
	}
	sl := c.s.slots[i]
	if sl.lang.restrict(c.view(gen, sl), pos-sl.start, c.s.v.mask, sl.padOK, logits, negInf) == 0 {
		logits[c.s.v.pad] = 0 // unreachable: every commit keeps the slot completable
	}
}

func (c *constraint) Accept(gen []int32, pos int, tok int32) bool {
	pos += len(c.done)
	if pos >= len(c.at) || c.at[pos] < 0 {
		return true
	}
	sl := c.s.slots[c.at[pos]]
	return sl.lang.accepts(c.view(gen, sl), pos-sl.start, c.s.v.mask, sl.padOK, tok)
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
