package decode

import (
	"fmt"
	"math"
	"slices"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// blockSeq decodes a block-causal model block by block (dllm-engine-spec.md
// 4.1 and 4.2). With Arch.Block = 1 it is the autoregressive baseline on the
// same weights and code path.
//
// Tokens that are final but whose K/V are not in the cache yet (whole
// prompt blocks, a finished block) wait in pend and are written by the next
// forward, which stores them and keeps the rows after them as scratch.
//
// Unshifted (SDAR): the first block holds the prompt tail and masks; each
// step runs pend ++ block against the committed cache and commits positions
// chosen by the policy from logits row i = position i. A finished block is
// thus committed by the forward that runs the next block's first step, so a
// block costs exactly its denoising steps.
//
// Shifted (Fast-dLLM v2): position j is predicted by row j-1, and position 0
// of a block by the last row of the forward that commits the previous block
// (or the prompt). Steps work sub-block by sub-block.
//
// Both end at a stop id with no mask before it, or at MaxNew tokens. With a
// Template, fixed positions are never decoded and a block without masks
// costs no denoising step.
type blockSeq struct {
	a      Arch
	p      Params
	samp   *Sampler
	prompt []int32
	out    []int32

	bs     int     // absolute start of the current block
	canvas []int32 // [B] the current block
	gen0   int     // canvas[:gen0] is prompt tail, not generated
	masks0 int
	step   int

	pend        []int32 // final tokens at [bs-len(pend), bs) not yet in the cache
	needFirst   bool    // shifted: the next forward writes pend and predicts position bs
	haveBlockKV bool    // shifted: scratch rows hold this block's K/V from a full-block forward
	done        bool

	last     Work
	lastKind kind
	sub      [2]int // shifted: current sub-block [s, e)
	forwards int
	blocks   int               // blocks a denoising step was taken in
	smooth   *smoothing        // IterSmooth's soft inputs; nil for other policies
	flash    *model.FlashState // FlashBlock's cache; nil when off
}

type kind uint8

const (
	kindDenoise kind = iota
	kindFirst        // shifted: logits row predicts the next block's first token
)

// NewBlock starts decoding prompt on a block-causal model.
func NewBlock(a Arch, prompt []int32, p Params) (Sequence, error) {
	if err := p.validate(a, len(prompt)); err != nil {
		return nil, err
	}
	s := &blockSeq{a: a, p: p, samp: NewSampler(p.Sampling), prompt: slices.Clone(prompt)}
	var err error
	if s.smooth, err = newSmoothing(p); err != nil {
		return nil, err
	}
	if s.flash, err = newFlash(a, p); err != nil {
		return nil, err
	}
	B, P := a.Block, len(prompt)
	pre := P / B * B
	maxCached := pre
	if a.Shifted {
		maxCached = max(pre-B, 0)
	}
	if p.Cached < 0 || p.Cached%B != 0 || p.Cached > maxCached {
		return nil, fmt.Errorf("decode: %d cached prompt rows: want a multiple of the block size %d, at most %d", p.Cached, B, maxCached)
	}
	s.pend, s.bs = s.prompt[p.Cached:pre], pre
	if a.Shifted && P%B == 0 {
		// The prompt fills whole blocks: commit it and read the next block's
		// first token from its last row, autoregressively.
		s.needFirst = true
		return s.withPolicy()
	}
	s.startBlock(prompt[pre:])
	s.advance()
	return s.withPolicy()
}

// withPolicy is s, or s drafting and verifying for a FreeDave policy.
func (s *blockSeq) withPolicy() (Sequence, error) {
	if fd, ok := s.p.Policy.(FreeDave); ok {
		return newFreeDave(s, fd)
	}
	return s, nil
}

// startBlock makes a canvas of the known tokens, then the template (or masks).
func (s *blockSeq) startBlock(known []int32) {
	B := s.a.Block
	s.canvas = make([]int32, B)
	n := copy(s.canvas, known)
	masks := 0
	for i := n; i < B; i++ {
		s.canvas[i] = s.a.MaskID
		if g := len(s.out) + i - n; g < len(s.p.Template) {
			s.canvas[i] = s.p.Template[g]
		}
		if s.canvas[i] == s.a.MaskID {
			masks++
		}
	}
	s.gen0, s.masks0, s.step = n, masks, 0
	s.haveBlockKV = false
	s.dropFlash()
	resetBlock(s.p.Policy)
}

func (s *blockSeq) Output() []int32 { return s.out }
func (s *blockSeq) Forwards() int   { return s.forwards }
func (s *blockSeq) Blocks() int     { return s.blocks }

func (s *blockSeq) masked() []int {
	var m []int
	for j := s.gen0; j < len(s.canvas); j++ {
		if s.canvas[j] == s.a.MaskID {
			m = append(m, j)
		}
	}
	return m
}

func (s *blockSeq) Next() (Work, bool) {
	if s.done {
		return Work{}, false
	}
	s.last = s.work()
	return s.last, true
}

// work builds the forward the current state needs (Next without the
// bookkeeping; FreeDave builds its candidates' forwards with it).
func (s *blockSeq) work() Work {
	w := Work{Mask: s.a.mask(), Truncate: -1, Pos: s.bs - len(s.pend)}
	s.lastKind = kindDenoise
	switch {
	case s.needFirst:
		s.lastKind = kindFirst
		w.Tokens, w.Store = s.pend, true
		w.LogitRows = []int{len(w.Tokens) - 1}
	case s.a.Shifted:
		w = s.shiftedStep(w)
	default:
		w.Tokens = slices.Concat(s.pend, s.canvas)
		for _, j := range s.masked() {
			w.LogitRows = append(w.LogitRows, len(s.pend)+j)
		}
	}
	if w.Store = w.Store || len(s.pend) > 0; w.Store && s.lastKind != kindFirst {
		w.Truncate = s.bs
	}
	if s.p.NoCache {
		w = s.uncached(w)
	}
	if s.lastKind == kindDenoise {
		w.Embeds = s.smooth.embeds(s.bs)
		w.Flash = s.flashFor(s.bs)
	}
	if s.summarized() {
		w.Summary, w.Exclude = true, s.exclude()
	}
	return w
}

func (s *blockSeq) shiftedStep(w Work) Work {
	m := s.masked()
	S := s.p.SubBlock
	st := m[0] / S * S
	en := min(st+S, s.a.Block)
	s.sub = [2]int{st, en}
	off := len(s.pend)
	if len(s.pend) == 0 && s.p.BlockCache && s.haveBlockKV && s.canvas[st] != s.a.MaskID && !s.p.NoCache {
		// Sub-block reuse: recompute rows [st, en) in place, attend to the
		// prefix and the whole block's K/V from the last full-block forward.
		w.Tokens, w.Pos, w.KeyLen = s.canvas[st:en], s.bs+st, s.bs+s.a.Block
		w.Mask = cpu.Mask{Kind: cpu.Bidirectional} // every key below KeyLen
		off = -st
	} else {
		w.Tokens = slices.Concat(s.pend, s.canvas)
		s.haveBlockKV = true
	}
	for _, j := range m {
		if j >= en {
			break
		}
		w.LogitRows = append(w.LogitRows, off+j-1)
	}
	return w
}

// uncached rewrites a work item to recompute the whole sequence from
// position 0 without touching the cache (exactness tests).
func (s *blockSeq) uncached(w Work) Work {
	prefix := slices.Concat(s.prompt, s.out)[:s.bs] // everything before the current block
	if s.lastKind == kindFirst {
		return Work{Tokens: prefix, Mask: w.Mask, Truncate: -1, LogitRows: []int{len(prefix) - 1}}
	}
	start := len(w.Tokens) - len(s.canvas) // where the canvas starts inside w.Tokens
	if w.KeyLen > 0 {                      // sub-block work: rows are relative to the sub-block
		start = -s.sub[0]
	}
	rows := make([]int, len(w.LogitRows))
	for i, r := range w.LogitRows {
		rows[i] = s.bs + r - start
	}
	return Work{Tokens: slices.Concat(prefix, s.canvas), Mask: s.a.mask(), Truncate: -1, LogitRows: rows}
}

func (s *blockSeq) Apply(logits []float32) {
	s.forwards++
	s.pend = nil // the forward stored them
	V := s.a.Vocab
	row := func(i int) []float32 {
		r := logits[i*V : (i+1)*V]
		if !s.a.Causal {
			r[s.a.MaskID] = float32(math.Inf(-1))
		}
		return r
	}
	if s.lastKind == kindFirst {
		s.first(func() int32 {
			r := row(0)
			if s.p.Constraint != nil {
				s.p.Constraint.Restrict(s.generated(), len(s.out), r)
			}
			return s.samp.Pick(r).Token
		})
		return
	}
	m := s.stepPositions()
	g0 := len(s.out) - s.gen0 // generated index of canvas position j is g0 + j
	gen := s.generated()
	if adj, ok := adjusterOf(s.p.Policy); ok {
		adj.BeginStep()
		for i, j := range m {
			adj.Adjust(j, row(i))
		}
	}
	c := &Candidates{Pos: m, Choice: make([]Choice, len(m)), Step: s.step, Masks0: s.masks0, Generated: gen, Base: g0}
	for i, j := range m {
		r := row(i)
		if s.p.Constraint != nil {
			s.p.Constraint.Restrict(gen, g0+j, r)
		}
		c.Choice[i] = s.samp.Pick(r)
	}
	if s.smooth == nil {
		s.commit(c, m, g0, gen)
		return
	}
	s.smooth.observe(s.a.MaskID, m, row, s.step)
	bs := s.bs
	s.commit(c, m, g0, gen)
	s.smooth.keep(s.canvas, s.a.MaskID, bs == s.bs && !s.done)
}

// first finishes a shifted model's first-token forward: a new block
// starts, its first position taking pick's token unless the template
// fixed it.
func (s *blockSeq) first(pick func() int32) {
	s.needFirst = false
	s.startBlock(nil)
	if s.canvas[0] == s.a.MaskID { // not fixed by the template
		s.canvas[0] = pick()
		s.masks0--
	}
	s.advance()
}

// stepPositions are the canvas positions the last denoising forward gave
// rows for (a shifted sub-block step covers the first masks only).
func (s *blockSeq) stepPositions() []int {
	m := s.masked()
	if s.a.Shifted {
		m = m[:len(s.last.LogitRows)]
	}
	return m
}

// summarized reports whether the next forward's rows can be summarized
// where the logits are (model.Seq.Summaries): greedy, no logit adjustment,
// no constraint, so each row's choice is its RowStat.
func (s *blockSeq) summarized() bool {
	_, adjusts := adjusterOf(s.p.Policy)
	return s.p.Constraint == nil && !adjusts && s.samp.Temperature <= 0 && s.smooth == nil
}

// exclude is the entry the decoder takes as -Inf in every row.
func (s *blockSeq) exclude() int32 {
	if s.a.Causal {
		return -1
	}
	return s.a.MaskID
}

// ApplySummaries consumes the last work's row summaries (Work.Summary) as
// Apply consumes logits: the same choices, as Pick makes them from rows
// with the mask token at -Inf.
func (s *blockSeq) ApplySummaries(st []model.RowStat) {
	s.forwards++
	s.pend = nil
	if s.lastKind == kindFirst {
		s.first(func() int32 { return greedyChoice(st[0]).Token })
		return
	}
	m := s.stepPositions()
	c := &Candidates{Pos: m, Choice: make([]Choice, len(m)), Step: s.step, Masks0: s.masks0, Generated: s.generated(), Base: len(s.out) - s.gen0}
	for i := range m {
		c.Choice[i] = greedyChoice(st[i])
	}
	s.commit(c, m, c.Base, c.Generated)
}

// commit applies the policy's selection of this step's candidates.
func (s *blockSeq) commit(c *Candidates, m []int, g0 int, gen []int32) {
	s.commitPicks(s.picks(c, m, g0, gen), c, m, g0, gen)
}

// picks are the candidates (indices into c.Pos) the step commits: the
// policy's selection, less, under a constraint, every choice after the
// first that conflicts with one committed before it in the same step.
func (s *blockSeq) picks(c *Candidates, m []int, g0 int, gen []int32) []int {
	sel := s.p.Policy.Select(c)
	if s.p.Constraint == nil || len(sel) < 2 {
		return sel
	}
	gen = slices.Clone(gen)
	out := make([]int, 0, len(sel))
	for n, i := range sel {
		tok, g := c.Choice[i].Token, g0+m[i]
		if n > 0 && !s.p.Constraint.Accept(gen, g, tok) {
			continue
		}
		gen[g] = tok
		out = append(out, i)
	}
	return out
}

// commitPicks writes the picked candidates into the block and takes the step.
func (s *blockSeq) commitPicks(idx []int, c *Candidates, m []int, g0 int, gen []int32) {
	for _, i := range idx {
		tok, g := c.Choice[i].Token, g0+m[i]
		s.canvas[m[i]] = tok
		gen[g] = tok
	}
	if s.step == 0 {
		s.blocks++
	}
	s.step++
	s.advance()
}

// generated returns the generated tokens so far followed by the current
// block's generated part (masks included), indexed by generated position.
func (s *blockSeq) generated() []int32 { return slices.Concat(s.out, s.canvas[s.gen0:]) }

// advance applies the stop rules and moves past full blocks. Committed
// tokens never change, so generation ends as soon as the decoded prefix of
// the block (up to its first mask) holds a stop id or reaches MaxNew: the
// output equals the reference's, which finishes the block and truncates, at
// fewer forwards.
func (s *blockSeq) advance() {
	for !s.done && !s.needFirst {
		B := s.a.Block
		filled := s.canvas[s.gen0 : s.gen0+s.filled()]
		if i := slices.IndexFunc(filled, func(t int32) bool { return slices.Contains(s.p.Stop, t) }); i >= 0 {
			s.finish(filled[:i+1])
			return
		}
		if len(s.out)+len(filled) >= s.p.MaxNew {
			s.finish(filled)
			return
		}
		if s.gen0+len(filled) < B {
			return // masks left
		}
		s.out = append(s.out, filled...)
		if s.p.OnBlock != nil {
			s.p.OnBlock(slices.Clone(filled))
		}
		s.pend = slices.Concat(s.pend, s.canvas)
		s.bs += B
		if s.a.Shifted {
			s.needFirst = true
			return
		}
		s.startBlock(nil)
	}
}

// filled counts the decoded generated positions before the first mask.
func (s *blockSeq) filled() int {
	n := 0
	for _, t := range s.canvas[s.gen0:] {
		if t == s.a.MaskID {
			break
		}
		n++
	}
	return n
}

func (s *blockSeq) finish(last []int32) {
	last = last[:min(len(last), s.p.MaxNew-len(s.out))]
	s.out = append(s.out, last...)
	if s.p.OnBlock != nil && len(last) > 0 {
		s.p.OnBlock(slices.Clone(last))
	}
	s.done = true
	s.dropFlash()
}
