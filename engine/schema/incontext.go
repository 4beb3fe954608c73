package schema

import (
	"context"
	"math"
	"slices"

	"dlmstream/engine"
	"dlmstream/kernels/cpu"
)

// In-context choice scoring, for models whose attention is causal across
// blocks (SDAR, Fast-dLLM v2, autoregressive models).
//
// Such a model never saw a masked token in a block before the one it
// denoises, so scoring every choice on the fully masked canvas (choose) is
// outside its training distribution for every choice after the first slot:
// the demo checkpoint then picks the same role whatever the text says. Here
// the first round decodes the canvas in segments instead: the free slots up
// to the next choice, then that choice scored with the decoded canvas before
// it as clean context, then the next segment. Bidirectional models (Dream,
// LLaDA) keep the one-forward mean-field scoring, which matches how they
// were trained.

// scorer picks a choice slot's alternative given the canvas decoded before
// it (prefix, clean) and the canvas after it (tail: fixed tokens and masks).
type scorer func(ctx context.Context, prefix []int32, sl *slot, tail []int32) (pick, forwards int, err error)

// inContext reports whether choices should be scored in context for a
// model trained with mask m.
func inContext(m cpu.Mask) bool { return m.Kind != cpu.Bidirectional }

// scorers score what the first round chooses in context: choices and
// union branches.
type scorers struct {
	choice scorer
	branch branchScorer
}

// decodeInContext runs the first round: it returns the decoded canvas (free
// slots, choices and union branches), the masked tokens decoded and the
// forwards used. The canvas is decoded up to the next unpicked choice or
// unchosen union, which is then scored on that clean prefix; a chosen
// branch is laid out before decoding goes on.
func (sc *Scaffold) decodeInContext(ctx context.Context, gen generator, score *scorers) (out []int32, decoded, forwards int, err error) {
	c := newConstraint(sc)
	out = slices.Clone(sc.Template)
	fill := func(from, to int) error {
		n := sc.v.masks(out[from:to])
		if n == 0 {
			return nil
		}
		g, f, err := gen(ctx, out[:from], out[from:to], c.after(out[:from]))
		if err != nil {
			return err
		}
		if len(g) != to-from {
			return errShortCanvas(len(g), to-from)
		}
		copy(out[from:to], g)
		decoded += n
		forwards += f
		return nil
	}
	pos := 0
	for {
		var next *slot
		for _, sl := range sc.slots {
			if sl.choice && sl.pick < 0 && sl.start >= pos && (next == nil || sl.start < next.start) {
				next = sl
			}
		}
		if u := sc.nextUnion(); u != nil && (next == nil || u.at <= next.start) {
			if err := fill(pos, u.at); err != nil {
				return nil, decoded, forwards, err
			}
			f, err := sc.chooseBranch(ctx, u, out[:u.at], score.branch)
			forwards += f
			if err != nil {
				return nil, decoded, forwards, err
			}
			// The canvas after the union moved; nothing there was decoded.
			out = append(out[:u.at], sc.Template[u.at:]...)
			c = newConstraint(sc)
			pos = u.at
			continue
		}
		if next == nil {
			break
		}
		sl := next
		if err := fill(pos, sl.start); err != nil {
			return nil, decoded, forwards, err
		}
		end := sl.start + sl.width
		pick, f, err := score.choice(ctx, out[:sl.start], sl, out[end:])
		if err != nil {
			return nil, decoded, forwards, err
		}
		forwards += f
		sl.pick = pick
		for i := range sl.width {
			out[sl.start+i] = sc.v.pad
			if alt := sl.alts[pick]; i < len(alt) {
				out[sl.start+i] = alt[i]
			}
		}
		pos = end
	}
	if err := fill(pos, len(out)); err != nil {
		return nil, decoded, forwards, err
	}
	return out, decoded, forwards, nil
}

// scoreInContext scores each alternative of sl as log p(alternative, padded
// with pad to the slot's width | prefix), prefix being the prompt and the
// decoded canvas before the slot. Block-causal models score block by block,
// exactly as they decode: the slot's positions in the block being scored
// are masked, those in earlier blocks hold the alternative's tokens, and the
// canvas after the slot up to the end of the block is visible as decoded so
// far (tail). Causal models score all positions in one pass. The passes
// are one engine.Score request: the prefix up to the first re-run block is
// prefilled once (or taken from the engine's prefix cache, where the
// segment decoded before left most of it), and every pass goes through the
// engine's loop, batched with the other requests in flight.
func scoreInContext(ctx context.Context, e *engine.Engine, prefix []int32, sl *slot, tail []int32, pad, mask int32) (pick, forwards int, err error) {
	scores, forwards, err := altScores(ctx, e, prefix, sl, tail, pad, mask)
	if err != nil {
		return 0, forwards, err
	}
	best := math.Inf(-1)
	for a, s := range scores {
		if s > best {
			best, pick = s, a
		}
	}
	return pick, forwards, nil
}

// calibrationInput is the content-free user text of calibrated scoring.
const calibrationInput = "N/A"

// scoreCalibrated picks sl's alternative by log p(alt | prompt, prefix) −
// log p(alt | null, prefix): the same canvas before the slot, once after
// the real prompt and once after the content-free one (calibrationInput).
// What the schema in the prompt, or the slot's position, makes likely
// whatever the text says is divided out (contextual calibration, Zhao et
// al. 2021; domain-conditional PMI, Holtzman et al. 2021).
func scoreCalibrated(ctx context.Context, e *engine.Engine, prompt, null, prefix []int32, sl *slot, tail []int32, pad, mask int32) (pick, forwards int, err error) {
	real, f1, err := altScores(ctx, e, slices.Concat(prompt, prefix), sl, tail, pad, mask)
	if err != nil {
		return 0, f1, err
	}
	prior, f2, err := altScores(ctx, e, slices.Concat(null, prefix), sl, tail, pad, mask)
	if err != nil {
		return 0, f1 + f2, err
	}
	best := math.Inf(-1)
	for a := range real {
		if s := real[a] - prior[a]; s > best {
			best, pick = s, a
		}
	}
	return pick, f1 + f2, nil
}

// altScores returns log p(alternative | prefix) for each of sl's
// alternatives (see scoreInContext).
func altScores(ctx context.Context, e *engine.Engine, prefix []int32, sl *slot, tail []int32, pad, mask int32) (scores []float64, forwards int, err error) {
	tr := e.Model.Traits()
	shift := 0
	if tr.Shifted {
		shift = 1
	}
	B := 1
	if tr.Mask.Kind == cpu.BlockCausal {
		B = tr.Mask.Block
	}
	p0, w := len(prefix), sl.width
	// The tail that queries of the slot's last block can see.
	visEnd := p0 + w
	if B > 1 {
		visEnd = min(p0+w+len(tail), ((p0+w-1)/B+1)*B)
	}
	start := max(0, (p0-shift)/B*B) // first position re-run per alternative
	// The prefix up to the first re-run block is the engine's prompt
	// (prefilled once, or forked from its prefix cache); each alternative
	// runs one pass per block the slot touches, from there.
	var req engine.ScoreRequest
	req.Prompt = prefix[:start]
	spans := scoreSpans(p0, w, visEnd, B)
	for _, alt := range sl.alts {
		full := slices.Concat(prefix[start:], make([]int32, w), tail[:visEnd-p0-w])
		for i := range w {
			full[p0-start+i] = pad
			if i < len(alt) {
				full[p0-start+i] = alt[i]
			}
		}
		for _, sp := range spans {
			toks := slices.Clone(full[:sp.end-start])
			var pass engine.ScorePass
			for p := sp.lo; p < sp.hi; p++ {
				if B > 1 {
					toks[p-start] = mask
				}
				pass.Rows = append(pass.Rows, p-shift-start)
				pass.Targets = append(pass.Targets, full[p-start])
			}
			pass.Tokens = toks
			req.Passes = append(req.Passes, pass)
		}
	}
	res, err := e.Score(ctx, req)
	if err != nil {
		return nil, res.Forwards, err
	}
	scores = make([]float64, len(sl.alts))
	for i, s := range res.Scores {
		scores[i/len(spans)] += s
	}
	return scores, res.Forwards, nil
}

// scoreSpan is one forward of altScores: the slot positions [lo, hi) it
// scores (masked for block models) and the end of the sequence it runs.
type scoreSpan struct{ lo, hi, end int }

// scoreSpans: one span per block of size B that the slot [p0, p0+w)
// touches, each running to its block's end; one span for causal models (B 1),
// whose rows never see the positions they predict.
func scoreSpans(p0, w, visEnd, B int) []scoreSpan {
	if B == 1 {
		return []scoreSpan{{p0, p0 + w, visEnd}}
	}
	var out []scoreSpan
	for bs := p0 / B * B; bs < p0+w; bs += B {
		out = append(out, scoreSpan{max(bs, p0), min(bs+B, p0+w), min(visEnd, bs+B)})
	}
	return out
}
