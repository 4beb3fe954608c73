package decode

import (
	"math"
	"slices"

	"dlmstream/kernels/cpu"
)

// blockSeq decodes a block-causal model block by block (dllm-engine-spec.md
// 4.1 and 4.2). With Arch.Block = 1 it is the autoregressive baseline on the
// same weights and code path.
//
// Unshifted (SDAR): the first block holds the prompt tail and masks; each
// step runs the block against the committed cache and commits positions
// chosen by the policy from logits row i = position i. A finished block is
// committed by the forward that also runs the next block's first step
// (tokens = finished block ++ next canvas, Store, Truncate), so a block
// costs exactly its denoising steps.
//
// Shifted (Fast-dLLM v2): position j is predicted by row j-1, and position 0
// of a block by the last row of the forward that commits the previous block
// (or the prompt). Steps work sub-block by sub-block.
//
// Both end at a stop id with no mask before it, or at MaxNew tokens.
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

	prefill     int     // committed prompt rows still to be written (fused into the next forward)
	prev        []int32 // unshifted: finished block whose commit is fused into the next forward
	needFirst   bool    // shifted: the next forward commits the block and predicts the next block's first token
	haveBlockKV bool    // shifted: scratch rows hold this block's K/V from a full-block forward
	done        bool

	last     Work
	lastKind kind
	sub      [2]int // shifted: current sub-block [s, e)
	forwards int
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
	B := a.Block
	P := len(prompt)
	pre := P / B * B
	if a.Shifted && P%B == 0 {
		// The prompt fills whole blocks: commit it and read the next block's
		// first token from its last row, autoregressively.
		s.bs = P
		s.needFirst = true
		s.canvas = make([]int32, B)
		return s, nil
	}
	s.prefill = pre
	s.bs = pre
	s.startBlock(prompt[pre:])
	return s, nil
}

// startBlock makes a canvas of the given known tokens followed by masks.
func (s *blockSeq) startBlock(known []int32) {
	B := s.a.Block
	s.canvas = make([]int32, B)
	n := copy(s.canvas, known)
	for i := n; i < B; i++ {
		s.canvas[i] = s.a.MaskID
	}
	s.gen0, s.masks0, s.step = n, B-n, 0
	s.haveBlockKV = false
	if r, ok := s.p.Policy.(BlockResetter); ok {
		r.ResetBlock()
	}
}

func (s *blockSeq) Output() []int32 { return s.out }
func (s *blockSeq) Forwards() int   { return s.forwards }

func (s *blockSeq) masked() []int {
	var m []int
	for j, t := range s.canvas {
		if t == s.a.MaskID && j >= s.gen0 {
			m = append(m, j)
		}
	}
	return m
}

func (s *blockSeq) Next() (Work, bool) {
	if s.done {
		return Work{}, false
	}
	w := Work{Mask: s.a.mask(), Truncate: -1}
	s.lastKind = kindDenoise
	switch {
	case s.needFirst:
		s.lastKind = kindFirst
		if s.bs == len(s.prompt) { // the prompt itself
			w.Tokens, w.Pos = s.prompt, 0
		} else {
			w.Tokens, w.Pos = s.canvas, s.bs-s.a.Block
		}
		w.Store = true
		w.LogitRows = []int{len(w.Tokens) - 1}
	case s.a.Shifted:
		w = s.shiftedStep(w)
	default:
		w = s.unshiftedStep(w)
	}
	if s.p.NoCache {
		w = s.uncached(w)
	}
	s.last = w
	return w, true
}

func (s *blockSeq) unshiftedStep(w Work) Work {
	m := s.masked()
	switch {
	case s.prefill > 0:
		w.Tokens = slices.Concat(s.prompt[:s.prefill], s.canvas)
		w.Pos, w.Store, w.Truncate = 0, true, s.prefill
	case s.prev != nil:
		w.Tokens = slices.Concat(s.prev, s.canvas)
		w.Pos, w.Store, w.Truncate = s.bs-s.a.Block, true, s.bs
	default:
		w.Tokens, w.Pos = s.canvas, s.bs
	}
	off := len(w.Tokens) - len(s.canvas)
	for _, j := range m {
		w.LogitRows = append(w.LogitRows, off+j)
	}
	return w
}

func (s *blockSeq) shiftedStep(w Work) Work {
	m := s.masked()
	S := s.p.SubBlock
	st := m[0] / S * S
	en := min(st+S, s.a.Block)
	s.sub = [2]int{st, en}
	var off int
	switch {
	case s.prefill > 0:
		w.Tokens = slices.Concat(s.prompt[:s.prefill], s.canvas)
		w.Pos, w.Store, w.Truncate = 0, true, s.prefill
		off = s.prefill
		s.haveBlockKV = true
	case s.p.BlockCache && s.haveBlockKV && s.canvas[st] != s.a.MaskID && !s.p.NoCache:
		// Sub-block reuse: recompute rows [st, en) in place, attend to the
		// prefix and the whole block's K/V from the last full-block forward.
		w.Tokens, w.Pos, w.KeyLen = s.canvas[st:en], s.bs+st, s.bs+s.a.Block
		w.Mask = cpu.Mask{Kind: cpu.Bidirectional} // every key below KeyLen
		off = -st
	default:
		w.Tokens, w.Pos = s.canvas, s.bs
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
	V := s.a.Vocab
	row := func(i int) []float32 {
		r := logits[i*V : (i+1)*V]
		if !s.a.Causal {
			r[s.a.MaskID] = float32(math.Inf(-1))
		}
		return r
	}
	if s.lastKind == kindFirst {
		ch := s.samp.Pick(row(0))
		s.needFirst = false
		s.startBlock(nil)
		s.canvas[0] = ch.Token
		s.masks0 = s.a.Block - 1
		s.afterStep()
		return
	}
	s.prefill = 0
	s.prev = nil
	m := s.masked()
	if s.a.Shifted {
		m = m[:len(s.last.LogitRows)]
	}
	if adj, ok := s.p.Policy.(Adjuster); ok {
		adj.BeginStep()
		for i, j := range m {
			adj.Adjust(j, row(i))
		}
	}
	c := &Candidates{Pos: m, Choice: make([]Choice, len(m)), Step: s.step, Masks0: s.masks0}
	for i := range m {
		c.Choice[i] = s.samp.Pick(row(i))
	}
	for _, i := range s.p.Policy.Select(c) {
		s.canvas[m[i]] = c.Choice[i].Token
	}
	s.step++
	s.afterStep()
}

// afterStep applies the stop rules and moves to the next block when the
// current one is full. Committed tokens never change, so generation ends as
// soon as the decoded prefix of the block (up to its first mask) holds a
// stop id or reaches MaxNew: the output equals the reference's, which
// finishes the block and truncates, at fewer forwards.
func (s *blockSeq) afterStep() {
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
	s.bs += B
	if s.a.Shifted {
		s.needFirst = true
		return
	}
	s.prev = s.canvas
	s.startBlock(nil)
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
}
