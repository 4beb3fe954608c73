package qwen

import (
	"fmt"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// FlashBlock on the CPU path (model.Seq.Flash, dllm-engine-spec.md 8): a
// sequence's rows at positions >= Start (the block) attend to keys
// [Start, KeyLen) only, and their output is merged with the cached
// block-external attention over [0, Start); rows before Start (final tokens
// the forward stores) run the exact attention. On a refresh the forward
// computes the external part too and caches it.

// FlashBlock reports that Forward takes model.Seq.Flash (model.FlashBlocker).
func (m *Model) FlashBlock() bool { return true }

// flashSpan is one sequence's FlashBlock plan for a forward.
type flashSpan struct {
	seq     int
	f       *model.FlashState
	r0, nb  int  // the block rows are the sequence's rows [r0, r0+nb)
	off     int  // their position is Start+off
	refresh bool // compute and cache A_out this forward
}

// flashPlan validates the batch's Flash states and decides, per sequence,
// which rows are the block's and whether A_out is recomputed; a refresh
// resizes the state. Sequences whose block starts at 0 (no prefix) run the
// exact attention.
func (m *Model) flashPlan(b *model.Batch, spans []span) ([]flashSpan, error) {
	c := m.cfg
	var fs []flashSpan
	for si, s := range b.Seqs {
		f := s.Flash
		if f == nil {
			continue
		}
		sp := spans[si]
		switch {
		case f.Start < 0 || f.Start > s.Pos+sp.n || f.Start > sp.keyLen:
			return nil, fmt.Errorf("qwen: sequence %d: FlashBlock start %d outside the rows [%d, %d) and keys [0, %d)", si, f.Start, s.Pos, s.Pos+sp.n, sp.keyLen)
		case s.Mask.Kind == cpu.BlockCausal && f.Start%s.Mask.Block != 0:
			return nil, fmt.Errorf("qwen: sequence %d: FlashBlock start %d is not a block boundary of %v", si, f.Start, s.Mask)
		}
		r0 := max(0, f.Start-s.Pos)
		nb := sp.n - r0
		if f.Start == 0 || nb == 0 {
			continue
		}
		off := s.Pos + r0 - f.Start
		fs = append(fs, flashSpan{seq: si, f: f, r0: r0, nb: nb, off: off, refresh: !f.Holds(off, nb)})
	}
	for _, fl := range fs { // only once every sequence is valid: a refused batch leaves the states alone
		if fl.refresh {
			fl.f.Reset(fl.off, fl.nb, c.NumLayers, c.NumHeads, c.HeadDim)
		}
	}
	return fs, nil
}

// flashSeqs appends the attention calls of a sequence under FlashBlock:
// a holds the whole sequence's call (Out and Q [n, Nq*D]); attIn [nb, Nq*D]
// and lseIn [nb, Nq] receive the block rows' internal attention.
func (m *Model) flashSeqs(dst []cpu.AttentionSeq, a cpu.AttentionSeq, fl *flashSpan, li int, attIn, lseIn []float32) []cpu.AttentionSeq {
	c := m.cfg
	qd, start := c.NumHeads*c.HeadDim, fl.f.Start
	if fl.r0 > 0 { // final rows before the block: exact
		p := a
		p.Out, p.Q, p.NQ = a.Out[:fl.r0*qd], a.Q[:fl.r0*qd], fl.r0
		dst = append(dst, p)
	}
	blk := a
	blk.Q, blk.NQ, blk.QPos0 = a.Q[fl.r0*qd:(fl.r0+fl.nb)*qd], fl.nb, a.QPos0+fl.r0
	in := blk
	in.Out, in.LSE, in.K0 = attIn, lseIn, start // keys [Start, KeyLen)
	dst = append(dst, in)
	if fl.refresh {
		ext := blk
		ext.Out, ext.LSE = fl.f.Layer(li, fl.off, c.NumHeads, c.HeadDim)
		ext.NK = start // keys [0, Start)
		dst = append(dst, ext)
	}
	return dst
}

// flashMerge writes the block rows' output of layer li into att [n, Nq*D]
// (the sequence's rows): the cached external attention merged with the
// internal one, attIn [nb, Nq*D], lseIn [nb, Nq].
func (m *Model) flashMerge(att []float32, fl *flashSpan, li int, attIn, lseIn []float32) {
	c := m.cfg
	qd := c.NumHeads * c.HeadDim
	ext, lse := fl.f.Layer(li, fl.off, c.NumHeads, c.HeadDim)
	cpu.MergeAttention(att[fl.r0*qd:(fl.r0+fl.nb)*qd], ext, lse, attIn, lseIn, nil, fl.nb, c.NumHeads, c.HeadDim)
}
