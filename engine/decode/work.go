package decode

import (
	"fmt"
	"slices"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// Work is the forward pass a sequence needs next. The engine turns it into
// a model.Seq over the sequence's KV cache, runs it (batched with other
// sequences' work), applies Truncate, and hands the logits back via Apply.
type Work struct {
	Tokens []int32 // tokens at absolute positions [Pos, Pos+len)
	Pos    int
	KeyLen int // 0: Pos+len(Tokens)
	Mask   cpu.Mask
	// Store commits the rows [Pos, Pos+len) to the cache; Truncate >= 0 then
	// cuts the committed length back to Truncate (rows after it stay as
	// scratch K/V). This fuses a block's commit with the next block's first
	// denoising step in one forward.
	Store    bool
	Truncate int
	// LogitRows are the rows of Tokens whose logits Apply expects, in order.
	LogitRows []int
	// Embeds stand in for the embeddings of prompt tokens (media prefixes;
	// see model.Seq.Embeds). Decoders leave it empty; WithEmbeds sets it.
	Embeds []model.Embedding
	// Rope are the sequence's M-RoPE position ids (see model.Seq.Rope); nil
	// for 1-D positions. Decoders leave it nil; WithPositions sets it.
	Rope *model.Positions
	// Summary asks for each logit row's greedy summary instead of its logits
	// (model.Seq.Summaries, with Exclude taken as -Inf): the sequence then
	// implements Summarized and gets ApplySummaries instead of Apply.
	// Decoders set it where their choice is the row's argmax and confidence
	// alone (greedy, no constraint, no logit adjustment).
	Summary bool
	Exclude int32
	// Flash is the sequence's FlashBlock state (model.Seq.Flash); nil off.
	Flash *model.FlashState
	// Branches are further row sets of the same forward (FreeDave's
	// candidate states), each run over its own fork of the cache's
	// committed rows [0, Pos) (kvcache.Sequence.Fork: the pages are shared
	// and copied on write), never storing, the fork freed after the
	// forward. Apply gets the logit rows of w, then of each branch in
	// order. An executor short of KV pages runs only a leading part of the
	// branches (ToModels); Apply then gets their rows only. Branches have
	// no branches of their own.
	Branches []Work
}

// AllRows counts the token rows and the logit rows of w and its branches.
func (w *Work) AllRows() (tokens, logitRows int) {
	tokens, logitRows = len(w.Tokens), len(w.LogitRows)
	for i := range w.Branches {
		tokens += len(w.Branches[i].Tokens)
		logitRows += len(w.Branches[i].LogitRows)
	}
	return tokens, logitRows
}

// ToModels turns w and its branches into the model's inputs: w over cache
// (ToModel), each branch over a fork of cache's committed rows. logits
// [R, V] (nil when w.Summary) or sums [R] (nil unless w.Summary), R the
// logit rows of w and its branches (AllRows), are split among them in
// order. A branch whose fork (or its copy on write) finds too few free
// pages in the pool is left out with every branch after it: rows is the
// number of logit rows the inputs have, the leading part of the buffers
// that Deliver should hand back. release frees the forks; call it after
// the forward.
func ToModels(w Work, cache *kvcache.Sequence, logits []float32, sums []model.RowStat, V int) (seqs []model.Seq, rows int, release func()) {
	var forks []*kvcache.Sequence
	release = func() {
		for _, f := range forks {
			f.Free()
		}
	}
	part := func(seq *model.Seq, n int) {
		if w.Summary {
			seq.Summaries, seq.Exclude = sums[rows:rows+n], w.Exclude
		} else {
			seq.Logits = logits[rows*V : (rows+n)*V]
		}
		rows += n
	}
	seqs = append(seqs, ToModel(w, cache, nil))
	part(&seqs[0], len(w.LogitRows))
	for _, b := range w.Branches {
		keyLen := b.KeyLen
		if keyLen == 0 {
			keyLen = b.Pos + len(b.Tokens)
		}
		if b.Store || b.Pos > cache.Len() {
			panic(fmt.Sprintf("decode: a branch at %d (store %v) over a cache of %d committed rows", b.Pos, b.Store, cache.Len()))
		}
		f, err := cache.Fork(b.Pos, keyLen)
		if err != nil {
			break // out of pages: the branches run so far are what the sequence gets
		}
		// Copy the shared page under the branch's rows now: the copy on
		// write then can neither fail the whole forward (device pools
		// need a free page for it) nor fall to w's own rows.
		if err := f.Own(b.Pos, b.Pos+len(b.Tokens)); err != nil {
			f.Free()
			break
		}
		forks = append(forks, f)
		seqs = append(seqs, ToModel(b, f, nil))
		part(&seqs[len(seqs)-1], len(b.LogitRows))
	}
	return seqs, rows, release
}

// Summarized is a Sequence that can take row summaries for logits.
type Summarized interface {
	// ApplySummaries consumes [len(w.LogitRows)] summaries of the last
	// Next's work, which had Summary set.
	ApplySummaries(st []model.RowStat)
}

// Deliver hands a forward's output for w to s: the summaries when w asked
// for them, else the logits (with its branches', as ToModels split them:
// logits [rows, V], sums [rows]).
func Deliver(s Sequence, w Work, logits []float32, sums []model.RowStat) {
	if w.Summary {
		s.(Summarized).ApplySummaries(sums)
		return
	}
	s.Apply(logits)
}

// WithEmbeds wraps s so every forward it asks for carries embeds: the
// prompt's media rows, at absolute positions, whichever forward ends up
// prefilling them.
func WithEmbeds(s Sequence, embeds []model.Embedding) Sequence {
	if len(embeds) == 0 {
		return s
	}
	return &embedSeq{Sequence: s, embeds: embeds}
}

type embedSeq struct {
	Sequence
	embeds []model.Embedding
}

func (s *embedSeq) ApplySummaries(st []model.RowStat) { s.Sequence.(Summarized).ApplySummaries(st) }

func (s *embedSeq) Next() (Work, bool) {
	w, ok := s.Sequence.Next()
	w.Embeds = append(slices.Clip(s.embeds), w.Embeds...) // the decoder's own (soft inputs) after the media
	for i := range w.Branches {
		w.Branches[i].Embeds = append(slices.Clip(s.embeds), w.Branches[i].Embeds...)
	}
	return w, ok
}

// WithPositions wraps s so every forward it asks for carries the
// sequence's M-RoPE position ids: the prompt's explicit ones, and the rope
// delta for every position after it (generated tokens, canvases). nil
// leaves s as it is (1-D positions).
func WithPositions(s Sequence, pos *model.Positions) Sequence {
	if pos == nil {
		return s
	}
	return &ropeSeq{Sequence: s, pos: pos}
}

type ropeSeq struct {
	Sequence
	pos *model.Positions
}

func (s *ropeSeq) ApplySummaries(st []model.RowStat) { s.Sequence.(Summarized).ApplySummaries(st) }

func (s *ropeSeq) Next() (Work, bool) {
	w, ok := s.Sequence.Next()
	w.Rope = s.pos
	for i := range w.Branches {
		w.Branches[i].Rope = s.pos
	}
	return w, ok
}

// Sequence is one generation in progress.
type Sequence interface {
	// Next returns the forward the sequence needs; ok is false when done.
	Next() (w Work, ok bool)
	// Apply consumes logits [len(w.LogitRows), V] of the last Next's work.
	// It may modify logits.
	Apply(logits []float32)
	// Output is the generated tokens so far (final ones only).
	Output() []int32
	// Forwards counts the forward passes applied.
	Forwards() int
}

// BlockCounter is a Sequence that counts the blocks it took a denoising
// step in. On an unshifted block-causal model (SDAR) and in full-canvas
// decoding with fixed blocks every such block needs a forward of its own,
// so no unmasking policy, FreeDave's verified drafts included, takes fewer
// forwards for the same output: Blocks is the floor of Forwards.
type BlockCounter interface {
	Blocks() int
}
