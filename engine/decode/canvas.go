package decode

import (
	"errors"
	"math"
	"slices"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// CacheKind selects the approximate KV cache of full-canvas decoding.
type CacheKind uint8

const (
	// NoCanvasCache runs the whole canvas at every step (exact).
	NoCanvasCache CacheKind = iota
	// PrefixCache (Fast-dLLM v1): a full forward at each block start (and
	// every RefreshEvery steps) keeps the K/V before the block; other steps
	// run the block and everything after it against that prefix.
	PrefixCache
	// DualCache (Fast-dLLM v1): the full forward keeps K/V for the whole
	// canvas; other steps run only the block, rewriting its rows in place
	// and attending to the stale suffix.
	DualCache
)

// CanvasParams configure full-canvas decoding of bidirectional models.
type CanvasParams struct {
	Params
	// BlockLen is the semi-autoregressive block length (default 32); the
	// policy is applied inside the current block only.
	BlockLen int
	Cache    CacheKind
	// RefreshEvery > 0 also refreshes the cache every that many steps
	// within a block (dInfer cache_update_freq); block starts always refresh.
	RefreshEvery int
	// Prune is dLLM-ASR's length-adaptive pruning: after the first forward
	// the canvas is cut at the first position whose prediction is a stop
	// id (among the first block's: dLLM-ASR decodes the canvas as one block); that stop id is committed there and the masks after it dropped,
	// so every later forward runs on the prompt plus the predicted length
	// instead of MaxNew. Not with a Template or DualCache (its cached
	// suffix would outlive the cut).
	Prune bool
	// AdaBlock, if set, chooses each block's length at its start (see
	// AdaBlock); Template and Constraint compose with it.
	AdaBlock *AdaBlock
	// Length, if set, makes the canvas length variable by ρ-EOS (see
	// RhoEOS); MaxNew is then the most it may grow to. Not with a Template
	// (it fixes the length), Prune or Daedal.
	Length *RhoEOS
	// Daedal, if set, makes the canvas length variable by DAEDAL (see
	// Daedal); MaxNew bounds it. Not with a Template, Prune or Length.
	Daedal *Daedal
}

// DefaultCanvasBlock is CanvasParams.BlockLen's default.
const DefaultCanvasBlock = 32

// canvasSeq decodes a bidirectional model (LLaDA, Dream): the canvas is the
// prompt followed by MaxNew masks; blocks of BlockLen are decoded left to
// right, each position attending to the whole canvas (spec 4.3, 4.4).
type canvasSeq struct {
	a        Arch
	p        CanvasParams
	samp     *Sampler
	x        []int32
	P        int
	bs, be   int // current block [bs, be)
	step     int
	masks0   int
	done     bool
	out      []int32
	forwards int
	blocks   int // blocks a denoising step was taken in
	last     Work
	start    int   // first canvas position fed by the last work
	rows     []int // canvas positions predicted by the last work's logit rows
	sized    bool  // DAEDAL stage 1 is over
	stale    bool  // the canvas length changed since the last full forward
}

// NewCanvas starts full-canvas decoding; a.Block is ignored.
func NewCanvas(a Arch, prompt []int32, p CanvasParams) (Sequence, error) {
	if p.BlockLen <= 0 {
		p.BlockLen = DefaultCanvasBlock
	}
	a.Block = p.BlockLen // the default policy: one token per step
	if err := p.validate(a, len(prompt)); err != nil {
		return nil, err
	}
	if p.FlashBlock {
		return nil, errors.New("decode: FlashBlock caches a block-causal model's attention over its committed blocks (SDAR, Fast-dLLM v2); full-canvas decoding (LLaDA, Dream) is not supported")
	}
	if _, ok := p.Policy.(FreeDave); ok {
		return nil, errors.New("decode: FreeDave verifies candidates over a block-causal model's committed-block cache (SDAR, Fast-dLLM v2); full-canvas decoding (LLaDA, Dream) is not supported")
	}
	if _, ok := p.Policy.(IterSmooth); ok {
		return nil, errors.New("decode: iteration smoothing feeds soft inputs to a block-causal model's denoising steps (SDAR, Fast-dLLM v2); full-canvas decoding (LLaDA, Dream) is not supported")
	}
	if p.Prune && (len(p.Template) > 0 || p.Cache == DualCache) {
		return nil, errors.New("decode: length-adaptive pruning needs a canvas without a template, and no dual cache")
	}
	if err := p.validateAdaptive(); err != nil {
		return nil, err
	}
	x := slices.Concat(prompt, slices.Repeat([]int32{a.MaskID}, p.initLen()))
	copy(x[len(prompt):], p.Template)
	s := &canvasSeq{a: a, p: p, samp: NewSampler(p.Sampling), x: x, P: len(prompt), bs: len(prompt)}
	s.be = min(s.bs+p.BlockLen, len(x))
	s.masks0 = len(s.masked())
	s.advance()
	return s, nil
}

func (s *canvasSeq) Output() []int32 { return s.out }
func (s *canvasSeq) Forwards() int   { return s.forwards }
func (s *canvasSeq) Blocks() int     { return s.blocks }

func (s *canvasSeq) masked() []int { return s.maskedIn(s.bs, s.be) }

// maskedIn returns the masked canvas positions in [from, to).
func (s *canvasSeq) maskedIn(from, to int) []int {
	var m []int
	for j := from; j < to; j++ {
		if s.x[j] == s.a.MaskID {
			m = append(m, j)
		}
	}
	return m
}

func (s *canvasSeq) Next() (Work, bool) {
	if s.done {
		return Work{}, false
	}
	shift := 0
	if s.a.Shifted {
		shift = 1
	}
	L := len(s.x)
	w := Work{Mask: cpu.Mask{Kind: cpu.Bidirectional}, Truncate: -1}
	refresh := s.step == 0 || (s.p.RefreshEvery > 0 && s.step%s.p.RefreshEvery == 0) ||
		(s.stale && s.p.Cache == DualCache)
	if refresh {
		s.stale = false
	}
	s.start = 0
	switch {
	case s.p.Cache == NoCanvasCache:
		w.Tokens = s.x
	case refresh:
		w.Tokens, w.Store, w.Truncate = s.x, true, s.bs-shift
	case s.p.Cache == PrefixCache:
		s.start = s.bs - shift
		w.Tokens, w.Pos = s.x[s.start:], s.start
	default: // DualCache
		s.start = s.bs - shift
		w.Tokens, w.Pos, w.KeyLen = s.x[s.start:s.be], s.start, L
	}
	s.rows = s.masked()
	if s.step == 0 && s.p.adaptive() { // the block start reads the whole canvas
		s.rows = s.maskedIn(s.bs, L)
	}
	for _, j := range s.rows {
		w.LogitRows = append(w.LogitRows, j-shift-s.start)
	}
	if _, adjusts := adjusterOf(s.p.Policy); !adjusts && s.p.Constraint == nil && s.samp.Temperature <= 0 && !s.p.adaptive() {
		w.Summary, w.Exclude = true, s.a.MaskID
	}
	s.last = w
	return w, true
}

func (s *canvasSeq) Apply(logits []float32) {
	s.forwards++
	V := s.a.Vocab
	if s.step == 0 && s.p.adaptive() && s.adapt(func(i int) []float32 { return logits[i*V : (i+1)*V] }) {
		return
	}
	m := s.masked() // the leading rows: the block's masks come first
	if adj, ok := adjusterOf(s.p.Policy); ok {
		adj.BeginStep()
	}
	all := s.x[s.P:]
	c := &Candidates{Pos: m, Choice: make([]Choice, len(m)), Step: s.step, Masks0: s.masks0, Generated: all, Base: -s.P}
	for i, j := range m {
		row := logits[i*V : (i+1)*V]
		row[s.a.MaskID] = float32(math.Inf(-1))
		if adj, ok := adjusterOf(s.p.Policy); ok {
			adj.Adjust(j-s.bs, row)
		}
		if s.p.Constraint != nil {
			s.p.Constraint.Restrict(all, j-s.P, row)
		}
		c.Choice[i] = s.samp.Pick(row)
	}
	s.commit(c, m, all)
}

// ApplySummaries is Apply from row summaries (Work.Summary: greedy, no
// adjustment, no constraint; the mask token excluded as Apply sets it).
func (s *canvasSeq) ApplySummaries(st []model.RowStat) {
	s.forwards++
	m := s.masked()
	all := s.x[s.P:]
	c := &Candidates{Pos: m, Choice: make([]Choice, len(m)), Step: s.step, Masks0: s.masks0, Generated: all, Base: -s.P}
	for i := range m {
		c.Choice[i] = greedyChoice(st[i])
	}
	s.commit(c, m, all)
}

// commit prunes (on the first forward, if asked) and applies the policy's
// selection of this step's candidates.
func (s *canvasSeq) commit(c *Candidates, m []int, all []int32) {
	if s.step == 0 {
		s.blocks++
	}
	if s.p.Prune && s.forwards == 1 {
		if c = s.prune(c); len(c.Pos) == 0 { // the stop id came first
			s.step++
			s.advance()
			return
		}
	}
	committed := 0
	for _, i := range s.p.Policy.Select(c) {
		if s.p.Constraint != nil && committed > 0 && !s.p.Constraint.Accept(all, m[i]-s.P, c.Choice[i].Token) {
			continue
		}
		s.x[m[i]] = c.Choice[i].Token
		committed++
	}
	s.expand(c)
	s.step++
	s.advance()
}

// prune cuts the canvas after the first predicted stop id (see
// CanvasParams.Prune) and returns the candidates before it.
func (s *canvasSeq) prune(c *Candidates) *Candidates {
	for i, ch := range c.Choice {
		if !slices.Contains(s.p.Stop, ch.Token) {
			continue
		}
		j := c.Pos[i]
		s.x[j] = ch.Token
		s.x = s.x[:j+1]
		s.be = min(s.be, len(s.x))
		c.Pos, c.Choice = c.Pos[:i], c.Choice[:i]
		c.Generated = s.x[s.P:]
		s.masks0, c.Masks0 = len(c.Pos), len(c.Pos)
		return c
	}
	return c
}

// advance ends the generation at a stop id or the end of the canvas, and
// moves past finished blocks (and blocks the template fills entirely).
func (s *canvasSeq) advance() {
	for len(s.masked()) == 0 {
		gen := s.x[s.P:s.be]
		i := slices.IndexFunc(gen, func(t int32) bool { return slices.Contains(s.p.Stop, t) })
		if i >= 0 || s.be == len(s.x) {
			if i >= 0 {
				gen = gen[:i+1]
			}
			s.out = slices.Clone(gen)
			if s.p.OnBlock != nil && s.P+len(gen) > s.bs {
				s.p.OnBlock(slices.Clone(s.x[s.bs : s.P+len(gen)]))
			}
			s.done = true
			return
		}
		if s.p.OnBlock != nil {
			s.p.OnBlock(slices.Clone(s.x[s.bs:s.be]))
		}
		s.out = slices.Clone(gen)
		s.bs, s.be = s.be, min(s.be+s.p.BlockLen, len(s.x))
		s.step = 0
		s.masks0 = len(s.masked())
		resetBlock(s.p.Policy)
	}
}
