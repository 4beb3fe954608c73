package decode

import (
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
}

// Summarized is a Sequence that can take row summaries for logits.
type Summarized interface {
	// ApplySummaries consumes [len(w.LogitRows)] summaries of the last
	// Next's work, which had Summary set.
	ApplySummaries(st []model.RowStat)
}

// Deliver hands a forward's output for w to s: the summaries when w asked
// for them, else the logits.
func Deliver(s Sequence, w Work, seq model.Seq) {
	if w.Summary {
		s.(Summarized).ApplySummaries(seq.Summaries)
		return
	}
	s.Apply(seq.Logits)
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
	w.Embeds = s.embeds
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
