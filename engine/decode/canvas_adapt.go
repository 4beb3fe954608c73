package decode

import (
	"errors"
	"slices"
)

// Adaptive canvas options (AdaBlock, RhoEOS, Daedal): their defaults, the
// combinations refused, and the step that reads a block start's forward.
//
// Caches: the block-start forward always runs the whole canvas (a refresh
// for PrefixCache and DualCache), so every rule reads exact logits. A
// length change only touches positions at or after the current block start,
// so a PrefixCache (K/V before the block) stays valid; a DualCache keeps
// K/V for the whole canvas, so any length change forces a refresh at the
// next forward.

func (p *CanvasParams) adaptive() bool {
	return p.AdaBlock != nil || p.Length != nil || p.Daedal != nil
}

// validateAdaptive fills the options' defaults (on copies) and refuses what
// they cannot do.
func (p *CanvasParams) validateAdaptive() error {
	if p.AdaBlock != nil {
		ab := *p.AdaBlock
		if len(ab.Delims) == 0 {
			return errors.New("decode: AdaBlock needs delimiter ids")
		}
		if ab.Window <= 0 {
			ab.Window = p.BlockLen
		}
		p.AdaBlock = &ab
	}
	if p.Length == nil && p.Daedal == nil {
		return nil
	}
	switch {
	case p.Length != nil && p.Daedal != nil:
		return errors.New("decode: Length (ρ-EOS) and Daedal both set the canvas length; choose one")
	case len(p.Template) > 0:
		return errors.New("decode: a template fixes the canvas length; variable length (Length, Daedal) cannot apply")
	case p.Prune:
		return errors.New("decode: Prune cuts a fixed canvas; not with variable length (Length, Daedal)")
	}
	init := func(n int) int {
		if n <= 0 {
			n = 64
		}
		return min(n, p.MaxNew)
	}
	if p.Length != nil {
		r := *p.Length
		r.Init, r.Chunk = init(r.Init), orInt(r.Chunk, 32)
		if r.EOS == nil {
			r.EOS = p.Stop
		}
		if len(r.EOS) == 0 || r.Lo > r.Hi {
			return errors.New("decode: Length needs EOS ids (or Stop) and Lo <= Hi")
		}
		p.Length = &r
	}
	if p.Daedal != nil {
		d := *p.Daedal
		d.Init, d.Chunk, d.Tail, d.Factor = init(d.Init), orInt(d.Chunk, 32), orInt(d.Tail, 8), orInt(d.Factor, 2)
		if d.Tau <= 0 {
			d.Tau = 0.5
		}
		if d.EOS == nil {
			d.EOS = p.Stop
		}
		if len(d.EOS) == 0 {
			return errors.New("decode: Daedal needs EOS ids (or Stop)")
		}
		p.Daedal = &d
	}
	return nil
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// initLen is the canvas length to start with.
func (p *CanvasParams) initLen() int {
	switch {
	case p.Length != nil:
		return p.Length.Init
	case p.Daedal != nil:
		return p.Daedal.Init
	}
	return p.MaxNew
}

// room is how many masks the canvas may still grow by.
func (s *canvasSeq) room() int {
	r := s.p.MaxNew - (len(s.x) - s.P)
	if s.a.MaxPos > 0 {
		r = min(r, s.a.MaxPos-len(s.x))
	}
	return max(r, 0)
}

// grow appends n masks; shrink drops the last n positions.
func (s *canvasSeq) grow(n int) {
	s.x = append(s.x, slices.Repeat([]int32{s.a.MaskID}, n)...)
	s.stale = n > 0
}

// adapt applies the block-start rules to the logits of s.rows (every masked
// position from the block start; row(i) [V] is position s.rows[i]'s). It
// reports whether the forward is spent (DAEDAL stage 1 grew the canvas and
// asks for it again) so nothing is committed.
func (s *canvasSeq) adapt(row func(i int) []float32) bool {
	mask := s.a.MaskID
	if d := s.p.Daedal; d != nil && !s.sized {
		tail := s.rows[max(0, len(s.rows)-d.Tail):]
		var eos float32
		for i := len(s.rows) - len(tail); i < len(s.rows); i++ {
			p, _ := idProbs(row(i), mask, d.EOS)
			eos += p
		}
		if n := min(d.Chunk, s.room()); len(tail) > 0 && eos/float32(len(tail)) < d.Tau && n > 0 {
			s.grow(n)
			return true
		}
		s.sized = true
	}
	if ab := s.p.AdaBlock; ab != nil {
		s.be = ab.end(s.bs, min(s.bs+s.p.BlockLen, len(s.x)), s.rows, row, mask)
	}
	if r := s.p.Length; r != nil && len(s.rows) > 0 {
		var rho float32
		for i := range s.rows {
			p, _ := idProbs(row(i), mask, r.EOS)
			rho += p
		}
		rho /= float32(len(s.rows))
		trailing := 0
		for j := len(s.x) - 1; j >= s.be && s.x[j] == mask; j-- {
			trailing++
		}
		switch n := r.resize(rho, trailing, s.room()); {
		case n > 0:
			s.grow(n)
		case n < 0:
			s.x, s.stale = s.x[:len(s.x)+n], true
		}
	}
	s.masks0 = len(s.masked())
	return false
}

// expand is DAEDAL stage 2 after a step's commits (see Daedal).
func (s *canvasSeq) expand(c *Candidates) {
	d := s.p.Daedal
	if d == nil || d.Expand <= 0 {
		return
	}
	n := min(d.Factor-1, s.room())
	i := d.lowest(c, func(j int) bool { return s.x[j] == s.a.MaskID })
	if i < 0 || n <= 0 {
		return
	}
	j := c.Pos[i]
	s.x = slices.Insert(s.x, j+1, slices.Repeat([]int32{s.a.MaskID}, n)...)
	s.be += n
	s.masks0 += n
	s.stale = true
}
