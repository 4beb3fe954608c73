package decode

import (
	"errors"
	"fmt"

	"dlmstream/engine/model"

	"dlmstream/kernels/cpu"
)

// Params configure one generation.
type Params struct {
	// MaxNew bounds the generated tokens (the output is truncated to it).
	MaxNew int
	// Policy picks the positions to commit at each step (default:
	// StaticTopK with Steps = block size, i.e. one token per step).
	Policy Policy
	// Sampling chooses each position's token (zero value: greedy).
	Sampling Sampling
	// Stop ids end the generation; the output keeps the first stop id and
	// nothing after it.
	Stop []int32
	// SubBlock is Fast-dLLM v2's sub-block size (0: 8, capped at the block).
	SubBlock int
	// BlockCache enables Fast-dLLM v2's sub-block cache: once a sub-block's
	// first token is decoded, only the sub-block is recomputed, attending to
	// the block's K/V from the last full-block forward (approximate).
	BlockCache bool
	// NoCache recomputes the whole sequence at every forward instead of
	// using the committed-block KV cache. Only for tests: the block-causal
	// cache is exact, so outputs must be token-identical.
	NoCache bool
	// FlashBlock (dllm-engine-spec.md 8; block decoding with the
	// committed-block cache only) caches, at each block's first denoising
	// step, every layer's attention of the block's rows over the committed
	// prefix with its log-sum-exp (model.FlashState), and on the block's
	// later steps attends only within the block and merges the two. The
	// first step of a block is exact; later steps reuse the first step's
	// prefix attention although the block's queries have changed
	// (approximate). The cache, one block per sequence, is dropped when the
	// block commits. The model must implement model.FlashBlocker (the CPU
	// backend); NoCache, FreeDave, autoregressive (block 1) and full-canvas
	// decoding refuse it.
	FlashBlock bool
	// FlashRefresh recomputes FlashBlock's prefix attention at every step,
	// so every step merges exactly (tests: outputs then equal the exact
	// path's).
	FlashRefresh bool
	// OnBlock, if set, receives each block's final generated tokens as soon
	// as the block is committed (streaming).
	OnBlock func(tokens []int32)
	// Template, if set, fixes the generated canvas: position g holds
	// Template[g], and only positions holding the mask id are decoded (schema
	// scaffolds). MaxNew becomes len(Template) unless it is smaller.
	Template []int32
	// Constraint, if set, restricts what may be committed where; it composes
	// with every Policy.
	Constraint Constraint
	// Cached is the number of prompt positions whose K/V the cache already
	// holds as committed rows (a shared prefix reused from an earlier
	// request): a multiple of the block size within the prompt's whole
	// blocks, less one block for shifted models (their first forward needs a
	// prompt row). Block decoding only.
	Cached int
	// Embedder is the model's token embedding table, for policies whose
	// next inputs mix embeddings (IterSmooth); the engine sets it.
	Embedder model.TokenEmbedder
}

// Constraint limits the tokens a position may take given the tokens already
// committed, so that out-of-order unmasking can still end in a valid output.
// Positions are indices into the generated tokens (0 = first generated).
type Constraint interface {
	// Restrict is called before sampling each masked position: it sets the
	// logits of tokens that may not go at pos to -Inf, and must leave at
	// least one token allowed. gen holds the generated tokens so far, with
	// the mask id where nothing is committed yet.
	Restrict(gen []int32, pos int, logits []float32)
	// Accept is asked for every commit after the first of a step, in the
	// policy's order, with gen updated by the commits accepted before it; a
	// false answer leaves the position masked for a later step.
	Accept(gen []int32, pos int, tok int32) bool
}

// Arch is what the decoder needs to know of a model.
type Arch struct {
	Block   int   // training block size B (1 for autoregressive decoding)
	Shifted bool  // logits row i predicts position i+1
	MaskID  int32 // the mask token id
	Vocab   int
	// Causal marks a plain autoregressive model (no mask token; Block 1).
	Causal bool
	// MaxPos bounds the positions (prompt plus canvas) the model takes
	// (max_position_embeddings; 0: unbounded). Variable-length canvases
	// (CanvasParams.Length, Daedal) never grow past it.
	MaxPos int
}

func (a Arch) mask() cpu.Mask {
	if a.Block <= 1 {
		return cpu.Mask{Kind: cpu.Causal}
	}
	return cpu.Mask{Kind: cpu.BlockCausal, Block: a.Block}
}

func (p *Params) validate(a Arch, promptLen int) error {
	switch {
	case promptLen == 0:
		return errors.New("decode: empty prompt")
	case p.MaxNew <= 0 && len(p.Template) == 0:
		return fmt.Errorf("decode: MaxNew must be positive, got %d", p.MaxNew)
	case a.Block <= 0:
		return fmt.Errorf("decode: block size must be positive, got %d", a.Block)
	case a.Vocab <= 0:
		return fmt.Errorf("decode: vocabulary size must be positive")
	case !a.Causal && (a.MaskID < 0 || int(a.MaskID) >= a.Vocab):
		return fmt.Errorf("decode: mask token id %d outside the vocabulary [0, %d)", a.MaskID, a.Vocab)
	}
	if p.Policy == nil {
		p.Policy = StaticTopK{Steps: a.Block}
	}
	p.Policy, _ = refresh(p.Policy)
	if len(p.Template) > 0 && (p.MaxNew <= 0 || p.MaxNew > len(p.Template)) {
		p.MaxNew = len(p.Template)
	}
	if p.SubBlock <= 0 {
		p.SubBlock = 8
	}
	p.SubBlock = min(p.SubBlock, a.Block)
	return nil
}
