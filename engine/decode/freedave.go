package decode

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

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
// forward. With Tree, the candidates are a tree: other combinations of the
// drafts, and other likely tokens at them (Alt), run beside the chain's
// prefixes, so a step that commits drafts out of their order, or a token
// that changed once its neighbours were committed, is verified too.
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
	// K is the number of states each forward evaluates along the chain:
	// the current one and K-1 drafted candidates (default: the block size);
	// a Tree adds its own.
	K int
	// MinConf drafts only tokens at least this confident (0: every one of
	// the K-1): fewer rows per forward where unlikely drafts would be
	// rejected anyway. Any draft is verified, so the output is the same.
	MinConf float32
	// Of is the policy whose output FreeDave reproduces (nil: one token per
	// step). Its Select must depend on the candidates alone, their Step
	// included: FreeDave reconstructs each state's step count.
	Of Policy
	// Tree drafts a tree, not only a chain: besides the chain's prefixes,
	// each forward also runs up to Tree other combinations of the drafts
	// (the first treeDepth of them), so a step that commits drafts out of
	// their confidence order, or a token the drafts hold as a second
	// choice (Alt), is verified too. The most probable combinations run
	// first (the product of their tokens' probabilities). 0: the chain.
	Tree int
	// Alt, with Tree, also drafts a position's next most likely tokens (up
	// to maxAlts) where their probability is at least Alt (0: never). The
	// forwards then return logits rows, not their summaries.
	Alt float32
}

// treeDepth bounds the drafts a tree combines ((1+1+maxAlts)^5
// combinations at most); the chain goes on past them.
const treeDepth = 5

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
	tree    int
	alt     float32
	onBlock func([]int32)
	drafts  []draft
	// alts[i] are drafts[i]'s position with other tokens, most likely
	// first, and their probabilities; pDraft[i] is drafts[i]'s (tree only).
	alts   [][]alt
	pDraft []float32
	cands  []*candidate
	// proposed and accepted count the drafts offered and accepted.
	proposed, accepted int
}

type candidate struct {
	seq    *blockSeq
	set    []draft   // the drafts it commits
	branch int       // its branch in the work; -1: not run (settled)
	held   [][]int32 // blocks it finished, streamed once it is accepted
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
	switch {
	case fd.Tree < 0 || fd.Alt < 0 || fd.Alt > 1:
		return nil, fmt.Errorf("decode: FreeDave Tree %d, Alt %g: want Tree >= 0 and Alt in [0, 1]", fd.Tree, fd.Alt)
	case fd.Alt > 0 && fd.Tree == 0:
		return nil, errors.New("decode: FreeDave Alt drafts other tokens into a tree: set Tree too")
	}
	return &freeDaveSeq{blockSeq: s, k: k, minConf: fd.MinConf, tree: fd.Tree, alt: fd.Alt, onBlock: s.p.OnBlock}, nil
}

// Stats reports the drafts offered and accepted so far.
func (s *freeDaveSeq) Stats() (proposed, accepted int) { return s.proposed, s.accepted }

func (s *freeDaveSeq) Next() (Work, bool) {
	w, ok := s.blockSeq.Next()
	s.cands = s.cands[:0]
	if !ok || s.lastKind != kindDenoise {
		return w, ok
	}
	tree := s.treeSets()
	for _, set := range append(prefixes(s.drafts), tree...) {
		c := s.fork()
		for _, d := range set {
			c.seq.canvas[d.pos] = d.tok
		}
		c.seq.advance() // its step count is set by the walk that reaches it
		c.set, c.branch = set, -1
		s.cands = append(s.cands, c)
		if c.seq.done || c.seq.needFirst {
			if len(tree) == 0 {
				break // settled: accepting it needs no logits, and no draft goes past it
			}
			continue
		}
		b := c.seq.work()
		c.seq.last = b
		b.Store, b.Truncate = false, -1 // the forward stores only the state's own rows
		c.branch = len(w.Branches)
		w.Branches = append(w.Branches, b)
		if c.seq.bs != s.bs && len(tree) == 0 {
			break // it finished the block: no draft goes past it
		}
	}
	if s.tree > 0 && s.alt > 0 { // second tokens come from the logits rows, not their summaries
		w.Summary = false
		for i := range w.Branches {
			w.Branches[i].Summary = false
		}
	}
	s.last = w
	return w, true
}

// prefixes are the chain's candidate sets: drafts[:1], drafts[:2], ...
func prefixes(drafts []draft) [][]draft {
	sets := make([][]draft, len(drafts))
	for i := range drafts {
		sets[i] = drafts[:i+1]
	}
	return sets
}

// treeSets are the tree's candidate sets beyond the chain: combinations
// of the first treeDepth drafts, each with its first or (where drafted)
// its second token, that are not a prefix of the chain, the s.tree most
// probable first (ties: the order of enumeration).
func (s *freeDaveSeq) treeSets() [][]draft {
	if s.tree == 0 || len(s.drafts) == 0 {
		return nil
	}
	d := min(len(s.drafts), treeDepth)
	type scored struct {
		set []draft
		p   float32
	}
	var all []scored
	var walk func(i int, set []draft, p float32)
	walk = func(i int, set []draft, p float32) {
		if i == d {
			if len(set) > 0 && !slices.Equal(set, s.drafts[:len(set)]) { // the chain holds its prefixes
				all = append(all, scored{slices.Clone(set), p})
			}
			return
		}
		walk(i+1, set, p)
		walk(i+1, append(set, s.drafts[i]), p*s.pDraft[i])
		for _, a := range s.alts[i] {
			walk(i+1, append(set, a.draft), p*a.p)
		}
	}
	walk(0, nil, 1)
	sort.SliceStable(all, func(a, b int) bool { return all[a].p > all[b].p })
	sets := make([][]draft, 0, min(len(all), s.tree))
	for _, sc := range all[:min(len(all), s.tree)] {
		sets = append(sets, sc.set)
	}
	return sets
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
	s.resolve(func(b *blockSeq, off, n int) ([]Choice, altsOf) {
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
		if s.alt == 0 {
			return ch, nil
		}
		return ch, func(i int) []alt { // from the row as restricted above
			return others(logits[(off+i)*V:(off+i+1)*V], ch[i].Token, pos[i], s.alt)
		}
	}, len(logits)/V)
}

// altsOf gives a state's other likely tokens at its step position i, read
// from the logits only for the positions drafted (nil: not known).
type altsOf func(i int) []alt

// alt is a drafted token other than a position's most likely one.
type alt struct {
	draft
	p float32 // its probability under the row's softmax
}

// maxAlts bounds the other tokens a position drafts.
const maxAlts = 2

// others are the up to maxAlts most likely tokens of row other than first
// (ties: the lower id), at block offset pos, whose probability under the
// row's softmax is at least minP.
func others(row []float32, first int32, pos int, minP float32) []alt {
	top := row[first]
	if math.IsInf(float64(top), -1) {
		return nil
	}
	var z float64
	for _, l := range row {
		z += math.Exp(float64(l - top))
	}
	var out []alt
	for i, l := range row {
		p := float32(math.Exp(float64(l-top)) / z)
		if int32(i) == first || p < minP {
			continue
		}
		at := len(out)
		for at > 0 && out[at-1].p < p {
			at--
		}
		if at < maxAlts {
			out = slices.Insert(out, at, alt{draft{pos, int32(i)}, p})
			out = out[:min(len(out), maxAlts)]
		}
	}
	return out
}

func (s *freeDaveSeq) ApplySummaries(st []model.RowStat) {
	if s.lastKind == kindFirst {
		s.blockSeq.ApplySummaries(st)
		return
	}
	s.resolve(func(_ *blockSeq, off, n int) ([]Choice, altsOf) {
		ch := make([]Choice, n)
		for i := range ch {
			ch[i] = greedyChoice(st[off+i])
		}
		return ch, nil // no second tokens in a summary
	}, len(st))
}

// resolve walks the last work's states to the furthest verified one,
// given their rows (rows delivered: the work's own, then its branches', in
// order; choices(b, off, n) are state b's choices from rows [off, off+n)),
// then takes that state's step and drafts the next candidates.
func (s *freeDaveSeq) resolve(choices func(b *blockSeq, off, n int) ([]Choice, altsOf), rows int) {
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
		pos  []int
		ch   []Choice
		alts altsOf
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
			c := s.cands[a-1]
			if c.branch < 0 || c.branch >= ran {
				return nil
			}
			b, off = c.seq, offs[c.branch]
		}
		p := b.stepPositions()
		ch, alts := choices(b, off, len(p))
		seen[a] = &state{p, ch, alts}
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
	sets := make([][]draft, len(s.cands))
	for i, c := range s.cands {
		sets[i] = c.set
	}
	n, steps := accepted(sets, func(a, j int) ([]draft, bool) {
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
	s.proposed += len(s.drafts)
	s.drafts, s.alts, s.pDraft = nil, nil, nil
	if n == 0 {
		st := stateOf(0)
		s.step1(main, st.pos, st.ch, st.alts)
		return
	}
	s.accepted += len(sets[n-1])
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
	s.step1(cur, st.pos, st.ch, st.alts)
}

// accepted walks the candidate states from the current one (state 0;
// state a > 0 has sets[a-1] committed). commits(a, j) is what state a's
// own step commits, j the steps taken to reach it (ok false: a candidate
// not run). When the state's commits and the ones that reached it are
// exactly a candidate's set, in any order, the walk moves there. It
// returns the state it stops at and the steps taken to reach it.
func accepted(sets [][]draft, commits func(a, j int) ([]draft, bool)) (n, steps int) {
	most := 0 // no candidate goes past a state holding this many
	for _, set := range sets {
		most = max(most, len(set))
	}
	var have []draft
	for len(have) < most {
		got, ok := commits(n, steps)
		if !ok || len(got) == 0 {
			return n, steps
		}
		next := 0
		for i, set := range sets {
			// got holds masked positions of state n, so none is in have.
			if len(set) == len(have)+len(got) && holds(set, have) && holds(set, got) {
				next = i + 1
				break
			}
		}
		if next == 0 {
			return n, steps
		}
		n, have = next, sets[next-1]
		steps++
	}
	return n, steps
}

// holds reports whether set holds every commit of sub.
func holds(set, sub []draft) bool {
	for _, d := range sub {
		if !slices.Contains(set, d) {
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
func (s *freeDaveSeq) step1(b *blockSeq, pos []int, ch []Choice, other altsOf) {
	if len(pos) == 0 {
		b.advance()
		return
	}
	c := b.candidates(pos, ch)
	picked := b.picks(c, pos, c.Base, c.Generated)
	var drafts []draft
	var alts [][]alt
	var pDraft []float32
	for _, i := range byKey(c, conf) {
		if len(drafts) == s.k-1 || ch[i].Conf < s.minConf {
			break // the rest are less confident still
		}
		if !slices.Contains(picked, i) {
			drafts = append(drafts, draft{pos: pos[i], tok: ch[i].Token})
			pDraft = append(pDraft, ch[i].Conf)
			var a []alt
			if other != nil {
				a = other(i)
			}
			alts = append(alts, a)
		}
	}
	bs := b.bs
	b.commitPicks(picked, c, pos, c.Base, c.Generated)
	if !b.done && !b.needFirst && b.bs == bs {
		s.drafts, s.alts, s.pDraft = drafts, alts, pDraft
	}
}
