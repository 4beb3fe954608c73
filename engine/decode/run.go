package decode

import (
	"context"
	"fmt"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
)

// ArchOf describes a loaded model for the decoder. maskID is used when the
// config has no mask_token_id (Fast-dLLM v2 keeps it in the tokenizer); pass
// -1 when unknown. ar selects the autoregressive baseline: block size 1 on
// the same weights (one new token per forward; for unshifted diffusion
// models each forward carries the previous token and one mask).
func ArchOf(m model.Model, maskID int32, ar bool) (Arch, error) {
	cfg, tr := m.Config(), m.Traits()
	if cfg.MaskTokenID != nil {
		maskID = int32(*cfg.MaskTokenID)
	}
	a := Arch{Block: 1, Shifted: tr.Shifted, MaskID: maskID, Vocab: cfg.VocabSize, MaxPos: cfg.MaxPositionEmbeddings}
	if !tr.Diffusion {
		a.Shifted, a.Causal = true, true
		return a, nil
	}
	if maskID < 0 {
		return a, fmt.Errorf("%s: diffusion model without a mask token id", cfg.Path)
	}
	if !ar {
		a.Block = tr.Mask.Block
	}
	return a, nil
}

// Run drives one sequence to completion on m, one forward per step, using
// cache for committed K/V. The engine's scheduler does the same for many
// sequences at once; Run is the single-sequence path for tests and tools.
func Run(ctx context.Context, m model.Model, cache *kvcache.Sequence, s Sequence) error {
	V := m.Config().VocabSize
	var logits []float32
	var sums []model.RowStat
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		w, ok := s.Next()
		if !ok {
			return nil
		}
		_, k := w.AllRows()
		if w.Summary {
			sums = make([]model.RowStat, k)
		} else if need := k * V; cap(logits) < need {
			logits = make([]float32, need)
		}
		seqs, rows, release := ToModels(w, cache, logits[:cap(logits)], sums, V)
		err := m.Forward(&model.Batch{Seqs: seqs})
		release()
		if err != nil {
			return err
		}
		Done(w, cache)
		if w.Summary {
			Deliver(s, w, nil, sums[:rows])
		} else {
			Deliver(s, w, logits[:rows*V], nil)
		}
	}
}

// ToModel turns a work item into the model's input over cache. A storing
// forward that starts below the committed length (a canvas-cache refresh)
// first drops the rows it recomputes.
func ToModel(w Work, cache *kvcache.Sequence, logits []float32) model.Seq {
	if w.Store && w.Pos < cache.Len() {
		cache.Truncate(w.Pos)
	}
	return model.Seq{Tokens: w.Tokens, Pos: w.Pos, KeyLen: w.KeyLen, Mask: w.Mask, Cache: cache,
		Store: w.Store, LogitRows: w.LogitRows, Logits: logits, Embeds: w.Embeds, Rope: w.Rope, Flash: w.Flash}
}

// Done applies a work item's cache bookkeeping after its forward ran.
func Done(w Work, cache *kvcache.Sequence) {
	if w.Truncate >= 0 {
		cache.Truncate(w.Truncate)
	}
}
