package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"dlmstream/engine/decode"
	"dlmstream/engine/sched"
	"dlmstream/kernels/cpu"
)

// ScoreRequest asks for the log-probabilities of given tokens in forwards
// that continue one prompt, without decoding anything: the choice scoring
// of schema extraction (which enum value, which boolean), reranking. The
// prompt is prefilled once, or forked from the prefix cache, and each pass
// then runs from its end; every forward goes through the engine's loop, so
// it is batched with whatever else is in flight.
type ScoreRequest struct {
	// Prompt is the committed context, at positions [0, len(Prompt)). With
	// the prefix cache its whole blocks are taken from, and left in, the
	// cache.
	Prompt []int32
	// Passes run one after the other, each from the end of the prompt
	// (a pass never sees another's tokens).
	Passes []ScorePass
}

// ScorePass is one forward after the prompt.
type ScorePass struct {
	// Tokens stand at positions len(Prompt), len(Prompt)+1, ...; mask ids
	// among them are what a block model is asked to fill.
	Tokens []int32
	// Rows are rows of Tokens whose logits are scored, and Targets[i] is
	// the token whose log-probability row Rows[i] gives.
	Rows    []int
	Targets []int32
}

// ScoreResult is a finished ScoreRequest.
type ScoreResult struct {
	// Scores[i] = Σ_j log p(Passes[i].Targets[j] | row Passes[i].Rows[j]),
	// log-softmax over the vocabulary in fp32 as transformers' log_softmax.
	Scores []float64
	// Forwards is the number of forward passes the request took part in;
	// CachedRows of the prompt's rows came from the prefix cache.
	Forwards, CachedRows int
}

// Score runs req (see ScoreRequest). The prompt's prefill is fused into
// the first pass's forward; with the prefix cache, the other passes then
// run side by side in shared forwards (scoreSpread).
func (e *Engine) Score(ctx context.Context, req ScoreRequest) (ScoreResult, error) {
	V := e.arch.Vocab
	longest := 0
	for i, p := range req.Passes {
		if len(p.Tokens) == 0 {
			return ScoreResult{}, fmt.Errorf("engine: score pass %d has no tokens", i)
		}
		if len(p.Rows) != len(p.Targets) {
			return ScoreResult{}, fmt.Errorf("engine: score pass %d has %d rows but %d targets", i, len(p.Rows), len(p.Targets))
		}
		for j, r := range p.Rows {
			if r < 0 || r >= len(p.Tokens) {
				return ScoreResult{}, fmt.Errorf("engine: score pass %d: row %d outside [0, %d)", i, r, len(p.Tokens))
			}
			if t := p.Targets[j]; t < 0 || int(t) >= V {
				return ScoreResult{}, fmt.Errorf("engine: score pass %d: target %d outside the vocabulary [0, %d)", i, t, V)
			}
		}
		longest = max(longest, len(p.Tokens))
	}
	if len(req.Passes) == 0 {
		return ScoreResult{}, errors.New("engine: score request without passes")
	}
	// Spread over sequences where the prompt's KV is shared through the
	// prefix cache, or never kept (bidirectional: every pass runs it).
	if len(req.Passes) <= 2 || e.pc == nil && e.Model.Traits().Mask.Kind != cpu.Bidirectional {
		return e.scoreRun(ctx, req, longest)
	}
	return e.scoreSpread(ctx, req)
}

// maxScoreGroups bounds the sequences one score request's passes are spread
// over (the engine decodes at most Options.MaxRunning together).
const maxScoreGroups = 8

// scoreSpread runs the first pass alone, which prefills the prompt and
// leaves its whole blocks in the prefix cache, then the other passes as up
// to maxScoreGroups sequences that fork that prefix and run in the same
// forwards: n passes take about 1 + (n-1)/groups forwards instead of n, and
// the prompt is still prefilled once (a group whose prefix was evicted
// meanwhile prefills it again, with the same scores).
func (e *Engine) scoreSpread(ctx context.Context, req ScoreRequest) (ScoreResult, error) {
	first, err := e.scoreRun(ctx, ScoreRequest{Prompt: req.Prompt, Passes: req.Passes[:1]}, len(req.Passes[0].Tokens))
	if err != nil {
		return ScoreResult{}, err
	}
	rest := req.Passes[1:]
	groups := min(maxScoreGroups, max(e.maxRunning/2, 1), (len(rest)+1)/2)
	out := ScoreResult{Scores: make([]float64, len(req.Passes)), CachedRows: first.CachedRows}
	out.Scores[0] = first.Scores[0]
	errs := make([]error, groups)
	forwards := make([]int, groups)
	var wg sync.WaitGroup
	for g := range groups {
		lo, hi := g*len(rest)/groups, (g+1)*len(rest)/groups
		wg.Add(1)
		go func() {
			defer wg.Done()
			longest := 0
			for _, p := range rest[lo:hi] {
				longest = max(longest, len(p.Tokens))
			}
			r, err := e.scoreRun(ctx, ScoreRequest{Prompt: req.Prompt, Passes: rest[lo:hi]}, longest)
			if errs[g] = err; err == nil {
				copy(out.Scores[1+lo:1+hi], r.Scores)
				forwards[g] = r.Forwards
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return ScoreResult{}, err
	}
	out.Forwards = first.Forwards + slices.Max(forwards)
	return out, nil
}

// scoreRun runs req's passes one after the other in one sequence; longest
// is its longest pass.
func (e *Engine) scoreRun(ctx context.Context, req ScoreRequest, longest int) (ScoreResult, error) {
	V := e.arch.Vocab
	seq := &scoreSeq{prompt: req.Prompt, passes: req.Passes, mask: e.Model.Traits().Mask,
		scores: make([]float64, len(req.Passes)), vocab: V}
	ent := &sched.Entry{Ctx: ctx, NeedRows: len(req.Prompt) + longest, Seq: seq}
	if B := max(e.arch.Block, 1); e.pc != nil && len(req.Prompt) >= B {
		rows := len(req.Prompt) / B * B
		keys := blockKeys(req.Prompt[:rows], nil, nil, B, e.Model.Config().HiddenSize)
		e.cachePrefix(ent, &seq.cached, keys, B, []int{rows})
	}
	if err := e.sch.Submit(ent); err != nil {
		e.meter.unfinished(err)
		if ent.Release != nil {
			ent.Release()
		}
		return ScoreResult{}, err
	}
	select {
	case <-ent.Done:
	case <-ctx.Done():
		e.meter.unfinished(ctx.Err())
		return ScoreResult{}, ctx.Err()
	case <-e.quit:
		e.meter.unfinished(errClosed)
		return ScoreResult{}, errClosed
	}
	e.meter.finished(ent, ent.Err)
	if ent.Err != nil {
		return ScoreResult{}, ent.Err
	}
	return ScoreResult{Scores: seq.scores, Forwards: seq.forwards, CachedRows: seq.cached}, nil
}

// scoreSeq is a ScoreRequest as a decode.Sequence: the prompt rows not
// cached and the first pass in one forward (the prompt's whole blocks
// stored, the rest left as scratch), then one forward per further pass.
type scoreSeq struct {
	prompt   []int32
	passes   []ScorePass
	mask     cpu.Mask
	vocab    int
	cached   int // prompt rows forked from the prefix cache
	next     int // pass to run
	forwards int
	scores   []float64
}

func (s *scoreSeq) Next() (decode.Work, bool) {
	if s.next == len(s.passes) {
		return decode.Work{}, false
	}
	p := s.passes[s.next]
	from, base := s.cached, s.base()
	if s.next > 0 || from >= base {
		from = base
	}
	// Rows [from, base) are prefilled and kept; the prompt's rows from base
	// on share a block with (or, bidirectional, see) the pass, so they run
	// again with each pass and are cut back to scratch with it.
	w := decode.Work{Tokens: slices.Concat(s.prompt[from:], p.Tokens), Pos: from, Mask: s.mask,
		Store: from < base, Truncate: base, LogitRows: offsetRows(p.Rows, len(s.prompt)-from)}
	return w, true
}

// base is how many prompt rows can be kept across passes: whole blocks of
// a block-causal model, all of a causal one, none of a bidirectional one.
func (s *scoreSeq) base() int {
	switch s.mask.Kind {
	case cpu.Bidirectional:
		return 0
	case cpu.BlockCausal:
		B := max(s.mask.Block, 1)
		return len(s.prompt) / B * B
	}
	return len(s.prompt)
}

func offsetRows(rows []int, off int) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = off + r
	}
	return out
}

// Apply sums the pass's target log-probabilities: logits [len(Rows), V].
func (s *scoreSeq) Apply(logits []float32) {
	p := s.passes[s.next]
	V := s.vocab
	for i, t := range p.Targets {
		row := logits[i*V : (i+1)*V]
		mx := float32(math.Inf(-1))
		for _, v := range row {
			mx = max(mx, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
		}
		s.scores[s.next] += float64(row[t] - (float32(math.Log(sum)) + mx))
	}
	s.next++
	s.forwards++
}

func (s *scoreSeq) Output() []int32 { return nil }
func (s *scoreSeq) Forwards() int   { return s.forwards }
