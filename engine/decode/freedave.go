package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"dlmstream/engine/model"
)

// FreeDave is lossless draft-and-verify decoding (dllm-engine-spec.md
// section 8): the output is token for token that of the policy it wraps
// (Of; by default one token per step, greedy: the most confident masked
// position each step, StaticTopK with Steps = block size), in fewer
// forwards.
//
// Draft: at a step whose logits are in hand, the step commits what Of
// selects and drafts the next K-1 still-masked positions by confidence,
// each with its greedy token: candidate state j commits the first j
// drafts. Verify: the next forward runs the current state and every
// candidate side by side, each candidate as a branch of the work (Work.
// Branches: its own rows over a copy-on-write fork of the committed-block
// cache, in the same batched forward). From the current state, the walk
// asks Of what the state's own step commits, from its own logits (the
// constraint's filter applied, as the step would): when that is exactly
// the next drafts (same positions, same tokens, in any order) the walk
// moves to the candidate that commits them and asks again. Where it stops,
// that state's logits decide its own step and seed the next drafts. With
// the default rule each accepted step is one draft (the paper's rule);
// with a threshold, a step that commits the rest of the block jumps to the
// candidate holding all of it. A candidate that completes the block runs
// the next block's first step too (its rows attend to the block's own
// K/V, recomputed in the branch), so a block whose drafts hold costs one
// forward.
//
// Why branches: the kernels' masks give each query a prefix of the keys
// (causal, bidirectional, block-causal), so K copies of a block in one
// row set would see each other; forks of the cache keep them apart
// without a new mask, on CPU and device alike, and the engine batches them
// with the other sequences' work. Forwards() counts batched forwards; the
// rows they carry grow with K (Engine.Stats().Rows tells the cost).
//
// FreeDave runs on block-causal models with the committed-block cache
// (SDAR, Fast-dLLM v2 sub-block by sub-block; a constraint and a template
// compose). NewBlock refuses it with sampling (the claim is against
// greedy), with Fast-dLLM's approximate BlockCache, and with an Of that is
// not a function of the step's candidates alone (Stateful, Adjuster and
// BlockResetter policies such as Credit, IterSmooth's soft inputs, FreeDave
// itself); full-canvas decoding (LLaDA, Dream) refuses it. With K = 1 it is
// Of.
type FreeDave struct {
	// K is the number of states each forward evaluates: the current one and
	// K-1 drafted candidates (default: the block size).
	K int
	// MinConf drafts only tokens at least this confident (0: every one of
	// the K-1): fewer rows per forward where unlikely drafts would be
	// rejected anyway. Any draft is verified, so the output is the same.
	MinConf float32
	// Of is the policy whose output FreeDave reproduces (nil: one token per
	// step). Its Select must depend on the candidates alone, their Step
	// included: FreeDave reconstructs each state's step count.
	Of Policy
}

// Select is the rule FreeDave reproduces: Of's, or the most confident
// position (ties: the lower one).
func (f FreeDave) Select(c *Candidates) []int {
	if f.Of != nil {
		return f.Of.Select(c)
	}
	return byKey(c, conf)[:clampK(1, c.Len())]
}

// checkVerifiable refuses a policy FreeDave cannot replay on a candidate
// state: one, or one it wraps, with state of its own across steps or
// logits it rewrites.
func checkVerifiable(p Policy) error {
	for q := range chain(p) {
		switch q.(type) {
		case FreeDave:
			return errors.New("decode: FreeDave cannot wrap FreeDave")
		case IterSmooth:
			return errors.New("decode: FreeDave cannot verify IterSmooth: its soft inputs differ per candidate state")
		case Stateful, Adjuster, BlockResetter:
			return fmt.Errorf("decode: FreeDave cannot verify %T: it keeps state across steps or rewrites the logits, so a candidate state's step cannot be replayed", q)
		}
	}
	return nil
}

// draft is a drafted commit: block offset and token.
type draft struct {
	pos int
	tok int32
}

// freeDaveSeq is a blockSeq with drafts. The embedded state is the one
// every forward so far confirms; cands are the candidate states of the
// last work, cands[i] with drafts[:i+1] committed and moved on (advance),
// the first len(last.Branches) of them run as its branches, at most one
// more settled (done, or a shifted model's block end) and not run.
type freeDaveSeq struct {
	*blockSeq
	k       int
	minConf float32
	onBlock func([]int32)
	drafts  []draft
	cands   []*candidate
	// proposed and accepted count drafted candidates offered and accepted.
	proposed, accepted int
}

type candidate struct {
	seq  *blockSeq
	held [][]int32 // blocks it finished, streamed once it is accepted
}

func newFreeDave(s *blockSeq, fd FreeDave) (*freeDaveSeq, error) {
	switch {
	case s.samp.Temperature > 0:
		return nil, errors.New("decode: FreeDave is lossless against greedy decoding; it does not sample (temperature 0)")
	case s.p.BlockCache:
		return nil, errors.New("decode: FreeDave needs the exact committed-block cache; Fast-dLLM's approximate BlockCache is not supported")
	}
	if err := checkVerifiable(fd.Of); err != nil {
		return nil, err
	}
	k := fd.K
	if k <= 0 {
		k = s.a.Block
	}
	return &freeDaveSeq{blockSeq: s, k: k, minConf: fd.MinConf, onBlock: s.p.OnBlock}, nil
}

// Stats reports the drafted candidates offered and accepted so far.
func (s *freeDaveSeq) Stats() (proposed, accepted int) { return s.proposed, s.accepted }

func (s *freeDaveSeq) Next() (Work, bool) {
	w, ok := s.blockSeq.Next()
	s.cands = s.cands[:0]
	if !ok || s.lastKind != kindDenoise {
		return w, ok
	}
	for i := range s.drafts {
		c := s.fork()
		for _, d := range s.drafts[:i+1] {
			c.seq.canvas[d.pos] = d.tok
		}
		c.seq.advance() // its step count is set by the walk that reaches it
		s.cands = append(s.cands, c)
		if c.seq.done || c.seq.needFirst {
			break // settled: accepting it needs no logits
		}
		b := c.seq.work()
		c.seq.last = b
		b.Store, b.Truncate = false, -1 // the forward stores only the state's own rows
		w.Branches = append(w.Branches, b)
		if c.seq.bs != s.bs {
			break // it finished the block: no draft goes past it
		}
	}
	s.last = w
	return w, true
}

// fork copies the state for a candidate; its finished blocks are held
// back from the stream until it is accepted.
func (s *freeDaveSeq) fork() *candidate {
	c := &candidate{}
	b := *s.blockSeq
	b.out = slices.Clone(s.out)
	b.canvas = slices.Clone(s.canvas)
	b.pend = slices.Clone(s.pend)
	b.p.OnBlock = func(t []int32) { c.held = append(c.held, t) }
	c.seq = &b
	return c
}

func (s *freeDaveSeq) Apply(logits []float32) {
	if s.lastKind == kindFirst {
		s.blockSeq.Apply(logits)
		return
	}
	V := s.a.Vocab
	s.resolve(func(b *blockSeq, off, n int) []Choice {
		ch := make([]Choice, n)
		gen, g0 := b.generated(), len(b.out)-b.gen0
		pos := b.stepPositions()
		for i := range ch {
			r := logits[(off+i)*V : (off+i+1)*V]
			if !b.a.Causal {
				r[b.a.MaskID] = float32(math.Inf(-1))
			}
			if b.p.Constraint != nil {
				b.p.Constraint.Restrict(gen, g0+pos[i], r)
			}
			ch[i] = b.samp.Pick(r)
		}
		return ch
	}, len(logits)/V)
}

func (s *freeDaveSeq) ApplySummaries(st []model.RowStat) {
	if s.lastKind == kindFirst {
		s.blockSeq.ApplySummaries(st)
		return
	}
	s.resolve(func(_ *blockSeq, off, n int) []Choice {
		ch := make([]Choice, n)
		for i := range ch {
			ch[i] = greedyChoice(st[off+i])
		}
		return ch
	}, len(st))
}

// resolve walks the last work's states to the furthest verified one,
// given their rows (rows delivered: the work's own, then its branches', in
// order; choices(b, off, n) are state b's choices from rows [off, off+n)),
// then takes that state's step and drafts the next candidates.
func (s *freeDaveSeq) resolve(choices func(b *blockSeq, off, n int) []Choice, rows int) {
	main := s.blockSeq
	stored := len(main.pend) // the forward stored them
	main.forwards++
	main.pend = nil
	// Branch i's rows start at offs[i]; ran branches came back whole.
	offs, off, ran := make([]int, len(s.last.Branches)), len(main.stepPositions()), 0
	for i, b := range s.last.Branches {
		offs[i] = off
		if off += len(b.LogitRows); off <= rows {
			ran++
		}
	}
	type state struct {
		pos []int
		ch  []Choice
	}
	seen := make([]*state, len(s.cands)+1)
	// stateOf is state a (0: the current one; a: candidate a-1) with its
	// rows' choices; nil for a candidate that was not run.
	stateOf := func(a int) *state {
		if seen[a] != nil {
			return seen[a]
		}
		b, off := main, 0
		if a > 0 {
			if a-1 >= ran {
				return nil
			}
			b, off = s.cands[a-1].seq, offs[a-1]
		}
		p := b.stepPositions()
		seen[a] = &state{p, choices(b, off, len(p))}
		return seen[a]
	}
	// setStep gives state a the step count of the path that reached it in
	// j steps (a candidate past the block end counts its own block's).
	setStep := func(a, j int) *blockSeq {
		b := main
		if a > 0 {
			if b = s.cands[a-1].seq; b.bs == main.bs {
				b.step = main.step + j
			}
		}
		return b
	}
	n, steps := accepted(s.drafts[:len(s.cands)], func(a, j int) ([]draft, bool) {
		st := stateOf(a)
		if st == nil {
			return nil, false
		}
		b := setStep(a, j)
		c := b.candidates(st.pos, st.ch)
		var got []draft
		for _, i := range b.picks(c, st.pos, c.Base, c.Generated) {
			got = append(got, draft{pos: st.pos[i], tok: st.ch[i].Token})
		}
		return got, true
	})
	s.proposed += len(s.cands)
	s.accepted += n
	s.drafts = nil
	if n == 0 {
		st := stateOf(0)
		s.step1(main, st.pos, st.ch)
		return
	}
	c := s.cands[n-1]
	cur := setStep(n, steps)
	cur.pend = cur.pend[stored:]
	cur.forwards, cur.p.OnBlock = main.forwards, s.onBlock
	for _, t := range c.held {
		if s.onBlock != nil {
			s.onBlock(t)
		}
	}
	s.blockSeq = cur
	if cur.done || cur.needFirst {
		return // settled: the next forward needs no verified logits
	}
	st := stateOf(n)
	if st == nil {
		return // not run: the next forward evaluates it
	}
	s.step1(cur, st.pos, st.ch)
}

// accepted walks the drafts from the current state (state 0; state a has
// drafts[:a] committed). commits(a, j) is what state a's own step commits,
// j the steps taken to reach it (ok false: a candidate not run). When that
// is exactly the next drafts, in any order, the walk moves past them. It
// returns the state it stops at and the steps taken to reach it.
func accepted(drafts []draft, commits func(a, j int) ([]draft, bool)) (n, steps int) {
	for n < len(drafts) {
		got, ok := commits(n, steps)
		if !ok || len(got) == 0 || n+len(got) > len(drafts) || !sameDrafts(got, drafts[n:n+len(got)]) {
			return n, steps
		}
		n += len(got)
		steps++
	}
	return n, steps
}

// sameDrafts reports whether a and b hold the same commits, in any order.
func sameDrafts(a, b []draft) bool {
	if len(a) != len(b) {
		return false
	}
	for _, d := range a {
		if !slices.Contains(b, d) {
			return false
		}
	}
	return true
}

// candidates are state b's step candidates at positions pos.
func (b *blockSeq) candidates(pos []int, ch []Choice) *Candidates {
	return &Candidates{Pos: pos, Choice: ch, Step: b.step, Masks0: b.masks0, Generated: b.generated(), Base: len(b.out) - b.gen0}
}

// step1 takes state b's own step from its choices at pos: it commits what
// the policy picks and drafts the next K-1 still-masked positions by
// confidence, unless the commit ends the block or the generation.
func (s *freeDaveSeq) step1(b *blockSeq, pos []int, ch []Choice) {
	if len(pos) == 0 {
		b.advance()
		return
	}
	c := b.candidates(pos, ch)
	picked := b.picks(c, pos, c.Base, c.Generated)
	var drafts []draft
	for _, i := range byKey(c, conf) {
		if len(drafts) == s.k-1 || ch[i].Conf < s.minConf {
			break // the rest are less confident still
		}
		if !slices.Contains(picked, i) {
			drafts = append(drafts, draft{pos: pos[i], tok: ch[i].Token})
		}
	}
	bs := b.bs
	b.commitPicks(picked, c, pos, c.Base, c.Generated)
	if !b.done && !b.needFirst && b.bs == bs {
		s.drafts = drafts
	}
}
