package schema

import (
	"fmt"

	"dlmstream/engine"
)

// Plan is what one extraction costs, known from the scaffold and the prompt
// before any forward: Extract refuses a plan that cannot fit the engine
// with a *CanvasError instead of finding out while it decodes.
type Plan struct {
	Prompt int // prompt tokens (chat template, instruction, schema, input)
	// Canvas is the tokens laid out; Bound adds, for every union whose
	// branch is not chosen yet, the most its largest branch can lay out
	// (fixed text counted in bytes), so Prompt+Bound bounds the request.
	Canvas, Bound int
	// Masked is the canvas positions the decoder fills (at most one
	// forward each); Choices the enum/const/boolean slots and Unions the
	// branches scored under the model. Forwards = Masked + Choices +
	// Unions + 1 bounds the forwards of the first round: the time class.
	Masked, Choices, Unions, Forwards int
	// KVBytes is the KV pages the request holds at most (engine.KVBytes of
	// Prompt+Bound), with FlashBlock's cache (engine.FlashBytes) when
	// Options.FlashBlock is set.
	KVBytes int64
	// Largest is the schema pointer of the canvas's largest part (followed
	// down while one part holds more than half of its parent), and
	// LargestTokens its tokens.
	Largest       string
	LargestTokens int
}

// CanvasError is an extraction that cannot fit the engine: its prompt and
// canvas are longer than the model's positions, or need more KV memory than
// the engine's budget. It is returned before any forward.
type CanvasError struct {
	Plan
	Limit    string // "context" or "kv budget"
	Context  int    // the model's positions
	KVBudget int64  // the engine's KV budget in bytes
}

func (e *CanvasError) Error() string {
	where := e.Largest
	if where == "" {
		where = "/"
	}
	if e.Limit == "context" && e.Bound == 0 && e.Largest == "" {
		return fmt.Sprintf("schema: the prompt alone (%d tokens: instruction, schema and input) exceeds the model's %d positions (max_position_embeddings)", e.Prompt, e.Context)
	}
	if e.Limit == "context" {
		return fmt.Sprintf("schema: prompt (%d tokens) and canvas (%d tokens) exceed the model's %d positions (max_position_embeddings); the largest part is %s (%d tokens)",
			e.Prompt, e.Bound, e.Context, where, e.LargestTokens)
	}
	return fmt.Sprintf("schema: prompt (%d tokens) and canvas (%d tokens) need %d bytes of KV cache, over the engine's budget of %d; the largest part is %s (%d tokens)",
		e.Prompt, e.Bound, e.KVBytes, e.KVBudget, where, e.LargestTokens)
}

// Preflight lays out s for e and input and returns its Plan, or the
// *CanvasError that Extract would return, without running the model.
func Preflight(e *engine.Engine, input string, s *Schema, opts Options) (Plan, error) {
	opts = opts.withDefaults()
	a := e.Arch()
	v, err := vocabOf(e.Tok, a.MaskID, a.Vocab, opts.Pad)
	if err != nil {
		return Plan{}, err
	}
	prompt, err := promptIDs(e.Tok, input, s, opts)
	if err != nil {
		return Plan{}, err
	}
	if err := promptFits(e, len(prompt)); err != nil {
		return Plan{Prompt: len(prompt)}, err
	}
	opts.canvasLimit = canvasRoom(e, len(prompt))
	sc, err := newScaffold(s, e.Tok, v, opts)
	if err != nil {
		return Plan{}, err
	}
	return sc.preflight(e, len(prompt))
}

// promptFits refuses, before the scaffold is built, a prompt that alone
// is longer than the model's positions (a large schema quoted in the
// instruction): its canvas is not measured then (Bound 0).
func promptFits(e *engine.Engine, prompt int) error {
	c := e.Capacity()
	if c.Context > 0 && prompt > c.Context {
		return &CanvasError{Plan: Plan{Prompt: prompt}, Limit: "context", Context: c.Context, KVBudget: c.KVBudget}
	}
	return nil
}

// preflight computes the plan of a prompt of prompt tokens and checks it
// against e's capacity.
func (sc *Scaffold) preflight(e *engine.Engine, prompt int) (Plan, error) {
	p := sc.plan(prompt)
	p.KVBytes = e.KVBytes(p.Prompt + p.Bound)
	if sc.opts.FlashBlock {
		p.KVBytes += e.FlashBytes() // the attention cache is charged with the pages
	}
	c := e.Capacity()
	switch {
	case c.Context > 0 && e.Rows(p.Prompt+p.Bound) > c.Context:
		return p, &CanvasError{Plan: p, Limit: "context", Context: c.Context, KVBudget: c.KVBudget}
	case c.KVBudget > 0 && p.KVBytes > c.KVBudget:
		return p, &CanvasError{Plan: p, Limit: "kv budget", Context: c.Context, KVBudget: c.KVBudget}
	}
	return p, nil
}

// plan measures the scaffold as laid out now.
func (sc *Scaffold) plan(prompt int) Plan {
	p := Plan{Prompt: prompt, Canvas: len(sc.Template), Masked: sc.masked(), Unions: len(sc.unions)}
	for _, sl := range sc.slots {
		if sl.choice && sl.pick < 0 {
			p.Choices++
		}
	}
	memo := map[*Node]int{}
	p.Bound = p.Canvas
	for _, u := range sc.unions {
		p.Bound += sc.unionBound(u.node, memo)
	}
	p.Forwards = p.Masked + p.Choices + p.Unions + 1
	at := sc.root
	p.Largest, p.LargestTokens = at.node.Ptr, sc.partTokens(at, memo)
	for {
		var next *inst
		most := 0
		for _, c := range at.children() {
			if n := sc.partTokens(c, memo); n > most {
				next, most = c, n
			}
		}
		if next == nil || 2*most <= p.LargestTokens {
			break
		}
		at, p.Largest, p.LargestTokens = next, next.node.Ptr, most
	}
	return p
}

// children are the parts laid out inside in.
func (in *inst) children() []*inst {
	var out []*inst
	for _, p := range in.props {
		if p.key != nil {
			out = append(out, p.key)
		}
		out = append(out, p.v)
	}
	out = append(out, in.items...)
	if in.branch != nil {
		out = append(out, in.branch)
	}
	return out
}

// partTokens is in's canvas tokens: from its first slot's start to its
// last slot's end (the fixed tokens between included), plus the bound of
// each union under it whose branch is not chosen.
func (sc *Scaffold) partTokens(in *inst, memo map[*Node]int) int {
	lo, hi, extra := -1, 0, 0
	var walk func(in *inst)
	walk = func(in *inst) {
		switch {
		case in.leaf != nil:
			if lo < 0 || in.leaf.start < lo {
				lo = in.leaf.start
			}
			hi = max(hi, in.leaf.start+in.leaf.width)
		case in.node.Kind == Union && in.branch == nil:
			extra += sc.unionBound(in.node, memo)
		}
		for _, c := range in.children() {
			walk(c)
		}
	}
	walk(in)
	if lo < 0 {
		return extra
	}
	return hi - lo + extra
}

// unionBound is the most canvas a union node's branches can lay out: each
// branch is built on the side (fixed text counted in bytes, at least its
// tokens), with its own unions' bounds added. A branch over the scaffold
// limits, or a union inside itself, counts as MaxCanvasTokens.
func (sc *Scaffold) unionBound(n *Node, memo map[*Node]int) int {
	if b, ok := memo[n]; ok {
		return b
	}
	memo[n] = MaxCanvasTokens // while it is measured: a cycle is unbounded
	most := 0
	for _, br := range n.Branches {
		b := sc.b.side(false, true) // every optional part counts: an upper bound
		if _, err := b.build(br, "", false); err != nil {
			most = MaxCanvasTokens
			break
		}
		k := b.tokens
		for _, u := range b.s.unions {
			k += sc.unionBound(u.node, memo)
		}
		most = max(most, min(k, MaxCanvasTokens))
	}
	memo[n] = most
	return most
}

// canvasRoom is the canvas tokens the model's positions leave after a
// prompt of prompt tokens (0: not limited), the decoder's slack taken off
// (engine.Rows).
func canvasRoom(e *engine.Engine, prompt int) int {
	c := e.Capacity()
	if c.Context <= 0 {
		return 0
	}
	return max(c.Context-e.Rows(prompt), 1)
}
