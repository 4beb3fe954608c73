package main

import (
	"errors"
	"fmt"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// greedy continues prompt by up to maxNew tokens, one token per forward,
// choosing the argmax each time, and stops after a stop id. It is the
// command line's exact one-token-per-step decoder:
//
//   - causal models (qwen2, qwen3): autoregressive with the KV cache;
//   - block-diffusion models (sdar, Fast_dLLM_Qwen): whole prompt blocks are
//     committed to the cache, then each block is a canvas of B positions
//     (prompt tail, decoded tokens, mask tokens) denoised left to right one
//     token per forward under the block-causal mask; a finished block is
//     committed with one more forward. Unshifted models read position p's
//     logits at row p, shifted ones (Fast-dLLM v2) at row p-1, and the first
//     token of a block from the last row of the previous commit forward.
//
// observe, if set, sees every logits row before its argmax is taken.
func greedy(m model.Model, prompt []int32, maxNew int, stop map[int32]bool, observe func(row []float32), emit func(tok int32)) (forwards int, err error) {
	if len(prompt) == 0 {
		return 0, errors.New("empty prompt")
	}
	cfg, tr := m.Config(), m.Traits()
	V := cfg.VocabSize
	cache := kvcache.NewPool(cfg.NumLayers, cfg.KVDim(), 0).NewSequence()
	defer cache.Free()
	logits := make([]float32, V)
	forward := func(toks []int32, pos int, store bool, row int, mask cpu.Mask) error {
		s := model.Seq{Tokens: toks, Pos: pos, Mask: mask, Cache: cache, Store: store}
		if row >= 0 {
			s.LogitRows, s.Logits = []int{row}, logits
		}
		forwards++
		return m.Forward(&model.Batch{Seqs: []model.Seq{s}})
	}
	mask := int32(-1)
	if cfg.MaskTokenID != nil {
		mask = int32(*cfg.MaskTokenID)
	}
	pick := func() int32 {
		if observe != nil {
			observe(logits)
		}
		best := int32(0)
		for i := range logits {
			if int32(i) != mask && (best == mask || logits[i] > logits[best]) {
				best = int32(i)
			}
		}
		return best
	}

	if !tr.Diffusion {
		causal := cpu.Mask{Kind: cpu.Causal}
		if err := forward(prompt, 0, true, len(prompt)-1, causal); err != nil {
			return forwards, err
		}
		pos := len(prompt)
		for n := 0; n < maxNew; n++ {
			tok := pick()
			emit(tok)
			if stop[tok] || n == maxNew-1 {
				break
			}
			if err := forward([]int32{tok}, pos, true, 0, causal); err != nil {
				return forwards, err
			}
			pos++
		}
		return forwards, nil
	}

	if mask < 0 {
		return 0, fmt.Errorf("%s: block-diffusion model without mask_token_id", cfg.Path)
	}
	B := tr.Mask.Block
	committed := len(prompt) / B * B
	haveCarry := false // shifted: logits holds the prediction for position `committed`
	if committed > 0 {
		row := -1
		if tr.Shifted {
			row = committed - 1
		}
		if err := forward(prompt[:committed], 0, true, row, tr.Mask); err != nil {
			return forwards, err
		}
		haveCarry = tr.Shifted
	}
	block := make([]int32, B)
	known := copy(block, prompt[committed:])
	for generated := 0; generated < maxNew; {
		for i := known; i < B; i++ {
			block[i] = mask
		}
		for p := known; p < B && generated < maxNew; p++ {
			switch {
			case tr.Shifted && p == 0:
				if !haveCarry {
					return forwards, errors.New("shifted model: no logits for the first position")
				}
			case tr.Shifted:
				if err := forward(block, committed, false, p-1, tr.Mask); err != nil {
					return forwards, err
				}
			default:
				if err := forward(block, committed, false, p, tr.Mask); err != nil {
					return forwards, err
				}
			}
			tok := pick()
			block[p] = tok
			emit(tok)
			generated++
			if stop[tok] {
				return forwards, nil
			}
		}
		if generated >= maxNew {
			break
		}
		row := -1
		if tr.Shifted {
			row = B - 1
		}
		if err := forward(block, committed, true, row, tr.Mask); err != nil { // commit the finished block
			return forwards, err
		}
		haveCarry = tr.Shifted
		committed += B
		known = 0
	}
	return forwards, nil
}
