package asr

import (
	"context"
	"fmt"

	"dlmstream/engine/decode"
)

// A Prior proposes a draft transcript for one audio window before the
// language model decodes it (dLLM-ASR's ASR prior). The draft anchors the
// canvas length and, where it is confident, lets the decoder commit several
// tokens per forward when the model agrees with it (decode.PriorGuided).
// Priors are values; the zero value of each works.
type Prior interface {
	// Name is how results and metrics name the prior ("none", "ctc", ...).
	Name() string
	// Draft returns the proposal for w in the language model's vocabulary;
	// ok false means no draft (plain decoding).
	Draft(ctx context.Context, w *Window) (d decode.Draft, ok bool, err error)
}

// NoPrior decodes from an all-mask canvas.
type NoPrior struct{}

func (NoPrior) Name() string { return "none" }

func (NoPrior) Draft(context.Context, *Window) (decode.Draft, bool, error) {
	return decode.Draft{}, false, nil
}

// CTCPrior drafts the CTC head's greedy hypothesis, re-tokenized into the
// language model's vocabulary; each token's confidence is the lowest
// posterior of the characters it spans. Checkpoints without a CTC head get
// no draft.
type CTCPrior struct{}

func (CTCPrior) Name() string { return "ctc" }

func (CTCPrior) Draft(_ context.Context, w *Window) (decode.Draft, bool, error) {
	h, ok := w.CTC()
	if !ok {
		return decode.Draft{}, false, nil
	}
	toks := w.rec.tok.Encode(h.Text)
	conf := make([]float32, len(toks))
	off := 0
	for i, t := range toks {
		raw, _ := w.rec.tok.TokenBytes(t)
		n := len(raw)
		c := float32(1)
		for b := off; b < off+n && b < len(h.Chars); b++ {
			c = min(c, h.Chars[b].Conf)
		}
		conf[i], off = c, off+n
	}
	return w.rec.finish(toks, conf), true, nil
}

// SelfPrior drafts the language model's own first full pass over the
// window (every masked position of a block committed in one forward, as
// dLLM-ASR's public script takes its first NFE): the draft anchors the
// canvas length, and its tokens carry no confidence, so the second pass
// decodes them with the fallback threshold. Its forwards count in the
// transcript's.
type SelfPrior struct{}

func (SelfPrior) Name() string { return "self" }

func (SelfPrior) Draft(ctx context.Context, w *Window) (decode.Draft, bool, error) {
	res, err := w.generate(ctx, decode.TopK{K: w.rec.eng.Arch().Block}, w.maxNew(nil))
	if err != nil {
		return decode.Draft{}, false, fmt.Errorf("self prior: %w", err)
	}
	w.extraForwards += res.Forwards
	w.selfTime += res.Elapsed
	return w.rec.finish(res.TokenIDs, make([]float32, len(res.TokenIDs))), true, nil
}

// DraftPrior drafts a transcript from elsewhere (another ASR system; in
// pipelines the Kafka header draft-transcript or a JSONL field), with one
// confidence for every token (default 0.9).
type DraftPrior struct {
	Text string
	Conf float32
}

func (DraftPrior) Name() string { return "draft" }

func (p DraftPrior) Draft(_ context.Context, w *Window) (decode.Draft, bool, error) {
	if p.Text == "" {
		return decode.Draft{}, false, nil
	}
	c := p.Conf
	if c == 0 {
		c = 0.9
	}
	toks := w.rec.tok.Encode(p.Text)
	conf := make([]float32, len(toks))
	for i := range conf {
		conf[i] = c
	}
	return w.rec.finish(toks, conf), true, nil
}

// PriorByName returns the prior a flag or header names: none, ctc, self,
// draft (with text).
func PriorByName(name, text string) (Prior, error) {
	switch name {
	case "none":
		return NoPrior{}, nil
	case "ctc", "":
		return CTCPrior{}, nil
	case "self":
		return SelfPrior{}, nil
	case "draft":
		return DraftPrior{Text: text}, nil
	}
	return nil, fmt.Errorf("unknown prior %q (none, ctc, self, draft)", name)
}
