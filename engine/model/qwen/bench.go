package qwen

import (
	"math/rand/v2"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// BlockStep prepares one repeatable forward for benchmarks: a cache whose
// first ctx rows hold random committed K/V (attention costs what a real
// context costs; the values do not matter for timing) and a block of k
// tokens at position ctx that attends to it under the model's mask without
// storing, with logits for every row, as a denoising step needs.
func BlockStep(m model.Model, ctx, k int, seed uint64) (run func() error, free func(), err error) {
	return blockStep(m, ctx, k, seed, nil)
}

// BlockStepFlash is BlockStep with FlashBlock (model.Seq.Flash) for the
// block at ctx: the first run computes and caches the block's attention
// over the ctx committed rows (a block's first denoising step), later runs
// attend within the block only and merge (its later steps); refresh set
// makes every run a first step.
func BlockStepFlash(m model.Model, ctx, k int, seed uint64, refresh bool) (run func() error, free func(), err error) {
	f := &model.FlashState{Start: ctx}
	step, free, err := blockStep(m, ctx, k, seed, f)
	if err != nil || !refresh {
		return step, free, err
	}
	return func() error { f.Refresh = true; return step() }, free, nil
}

func blockStep(m model.Model, ctx, k int, seed uint64, flash *model.FlashState) (run func() error, free func(), err error) {
	cfg := m.Config()
	cache := m.NewPool(0).NewSequence() // the model's KV storage

	if err := cache.Reserve(ctx + k); err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(seed, 99))
	if cache.Pool().Options().External { // device pages: fill them by a prefill of random tokens
		for p := 0; p < ctx; p += 512 {
			n := min(512, ctx-p)
			toks := make([]int32, n)
			for i := range toks {
				toks[i] = int32(r.IntN(cfg.VocabSize))
			}
			if err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: toks, Pos: p, Mask: m.Traits().Mask, Cache: cache, Store: true}}}); err != nil {
				cache.Free()
				return nil, nil, err
			}
		}
	} else {
		d := cfg.KVDim()
		kv := make([]float32, ctx*d)
		for l := 0; l < cfg.NumLayers; l++ {
			for i := range kv {
				kv[i] = float32(r.NormFloat64())
			}
			cache.Write(l, 0, kv, kv)
		}
		cache.Commit(ctx)
	}
	toks := make([]int32, k)
	rows := make([]int, k)
	for i := range toks {
		toks[i] = int32(r.IntN(cfg.VocabSize))
		rows[i] = i
	}
	mask := m.Traits().Mask
	if mask.Kind == cpu.Causal && k > 1 {
		mask = cpu.Mask{Kind: cpu.BlockCausal, Block: k}
	}
	logits := make([]float32, k*cfg.VocabSize)
	run = func() error {
		return m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: toks, Pos: ctx, Mask: mask, Cache: cache, LogitRows: rows, Logits: logits, Flash: flash}}})
	}
	return run, cache.Free, nil
}

// ForwardFLOPs counts the multiply-adds (x2) of a k-token forward over ctx
// committed positions: the linear layers, the LM head on k rows, and attention.
func ForwardFLOPs(cfg *model.Config, ctx, k int) float64 {
	H, D, I, V := float64(cfg.HiddenSize), float64(cfg.HeadDim), float64(cfg.IntermediateSize), float64(cfg.VocabSize)
	q, kv := float64(cfg.NumHeads)*D, float64(cfg.NumKVHeads)*D
	perLayer := H*q + 2*H*kv + q*H + 3*H*I
	attn := 2 * float64(cfg.NumHeads) * D * float64(ctx+k) // QK^T and PV per query row
	return 2 * float64(k) * (float64(cfg.NumLayers)*(perLayer+attn) + H*V)
}
