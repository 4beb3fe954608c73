package decode

import (
	"errors"
	"math"
	"slices"

	"dlmstream/engine/model"
)

// FreeDave is lossless draft-and-verify decoding (dllm-engine-spec.md
// section 8): the output is token for token that of one token per step,
// greedy (StaticTopK with Steps = block size: the most confident masked
// position each step), in fewer forwards.
//
// Draft: at a step whose logits are in hand, the step commits the most
// confident position (as one token per step does) and drafts the next K-1
// by confidence, each with its greedy token: candidate state j commits the
// first j drafts. Verify: the next forward runs the current state and every
// candidate side by side, each candidate as a branch of the work (Work.
// Branches: its own rows over a copy-on-write fork of the committed-block
// cache, in the same batched forward). Candidate j is accepted when every
// state before it, from its own logits, would commit exactly the draft
// that leads to the next one (same position, same token); the longest
// accepted candidate's logits then decide its own step and seed the next
// drafts. A candidate that completes the block runs the next block's first
// step too (its rows attend to the block's own K/V, recomputed in the
// branch), so a block whose drafts all hold costs one forward.
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
// greedy) and with Fast-dLLM's approximate BlockCache; full-canvas decoding
// (LLaDA, Dream) refuses it. With K = 1 it is one token per step.
type FreeDave struct {
	// K is the number of states each forward evaluates: the current one and
	// K-1 drafted candidates (default: the block size).
	K int
	// MinConf drafts only tokens at least this confident (0: every one of
	// the K-1): fewer rows per forward where unlikely drafts would be
	// rejected anyway. Any draft is verified, so the output is the same.
	MinConf float32
}

// Select is the one-token-per-step rule FreeDave reproduces: the most
// confident position (ties: the lower one).
func (FreeDave) Select(c *Candidates) []int { return byKey(c, conf)[:clampK(1, c.Len())] }

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
		c.seq.step += i + 1
		c.seq.advance()
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

// resolve accepts the longest verified candidate of the last work, given
// its rows (rows delivered: the work's own, then its branches', in order;
// choices(b, off, n) are state b's choices from rows [off, off+n)), then
// takes the accepted state's step and drafts the next candidates.
func (s *freeDaveSeq) resolve(choices func(b *blockSeq, off, n int) []Choice, rows int) {
	main := s.blockSeq
	stored := len(main.pend) // the forward stored them
	main.forwards++
	main.pend = nil
	pos := main.stepPositions()
	ch := choices(main, 0, len(pos))
	// Branch i's rows start at offs[i]; ran branches came back whole.
	offs, off, ran := make([]int, len(s.last.Branches)), len(pos), 0
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
	seen := make([]state, len(s.cands))
	n := accepted(pos, ch, s.drafts[:len(s.cands)], func(i int) ([]int, []Choice, bool) {
		if i >= ran {
			return nil, nil, false
		}
		c := s.cands[i].seq
		p := c.stepPositions()
		seen[i] = state{p, choices(c, offs[i], len(p))}
		return seen[i].pos, seen[i].ch, true
	})
	s.proposed += len(s.cands)
	s.accepted += n
	s.drafts = nil
	if n == 0 {
		s.step1(main, pos, ch)
		return
	}
	c := s.cands[n-1]
	cur := c.seq
	cur.pend = cur.pend[stored:]
	cur.forwards, cur.p.OnBlock = main.forwards, s.onBlock
	for _, t := range c.held {
		if s.onBlock != nil {
			s.onBlock(t)
		}
	}
	s.blockSeq = cur
	if n > ran || cur.done || cur.needFirst {
		return // settled, or not run: the next forward evaluates it
	}
	s.step1(cur, seen[n-1].pos, seen[n-1].ch)
}

// accepted is the acceptance rule: the number of drafts accepted, given
// the current state's step positions and choices and, for candidate i
// (drafts[:i+1] committed), its own (ok false: not run). Draft i is
// accepted when the state before it is the current one or an accepted
// candidate that was run, and its most confident choice is the draft.
func accepted(pos []int, ch []Choice, drafts []draft, cand func(i int) ([]int, []Choice, bool)) int {
	for i, d := range drafts {
		best := topChoice(ch)
		if pos[best] != d.pos || ch[best].Token != d.tok {
			return i
		}
		var ok bool
		if pos, ch, ok = cand(i); !ok || len(pos) == 0 {
			return i + 1
		}
	}
	return len(drafts)
}

// topChoice is the index of the most confident choice (ties: the first),
// FreeDave.Select's pick.
func topChoice(ch []Choice) int {
	best := 0
	for i := range ch {
		if ch[i].Conf > ch[best].Conf {
			best = i
		}
	}
	return best
}

// step1 takes state b's own step from its choices at pos: it commits the
// most confident (one token per step) and drafts the next K-1 by
// confidence, unless the commit ends the block or the generation.
func (s *freeDaveSeq) step1(b *blockSeq, pos []int, ch []Choice) {
	if len(pos) == 0 {
		b.advance()
		return
	}
	c := &Candidates{Pos: pos, Choice: ch, Step: b.step, Masks0: b.masks0, Generated: b.generated(), Base: len(b.out) - b.gen0}
	order := byKey(c, conf)
	var drafts []draft
	for _, i := range order[1:min(s.k, len(order))] {
		if ch[i].Conf < s.minConf {
			break // the rest are less confident still
		}
		drafts = append(drafts, draft{pos: pos[i], tok: ch[i].Token})
	}
	bs := b.bs
	b.commit(c, pos, c.Base, c.Generated)
	if !b.done && !b.needFirst && b.bs == bs {
		s.drafts = drafts
	}
}
