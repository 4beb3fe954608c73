package engine

import "dlmstream/engine/model"

// Capacity is how large one request may be on an engine: what a caller
// checks before it builds a request the engine would refuse only once it
// ran (the model's positions) or at admission (the KV budget).
type Capacity struct {
	// Context is the positions the model takes (max_position_embeddings;
	// 0: not limited). A forward past it fails.
	Context int
	// KVBudget is the bytes of KV pages all running requests share (0: not
	// limited); a request needing more is refused with kvcache.ErrBudget.
	KVBudget int64
}

// Capacity reports the engine's limits on one request.
func (e *Engine) Capacity() Capacity {
	return Capacity{Context: e.Model.Config().MaxPositionEmbeddings, KVBudget: e.pool.Budget()}
}

// KVBytes is the bytes of KV pages that a request of tokens tokens (prompt
// and new tokens together) holds at most while it runs: what admission
// compares with Capacity().KVBudget.
func (e *Engine) KVBytes(tokens int) int64 {
	return e.pool.BytesFor(e.Rows(tokens))
}

// FlashBytes is what FlashBlock adds to a request's KVBytes: its
// attention cache beside the KV pages (model.FlashBytes over one block of
// the model's decoding), in whole pages. It is charged against
// Capacity().KVBudget with the pages, from admission to the end of the
// request.
func (e *Engine) FlashBytes() int64 { return e.pool.ChargeBytes(e.flashCache()) }

// flashCache is the most one request's FlashBlock cache holds.
func (e *Engine) flashCache() int64 {
	c := e.Model.Config()
	return model.FlashBytes(c.NumLayers, max(e.arch.Block, 1), c.NumHeads, c.HeadDim)
}

// Rows is the positions a request of tokens tokens reaches: its tokens and
// two blocks of slack for the decoder's block rounding. It must fit
// Capacity().Context.
func (e *Engine) Rows(tokens int) int { return needRows(tokens, e.arch.Block) }

func needRows(tokens, block int) int { return tokens + 2*max(block, 1) }
