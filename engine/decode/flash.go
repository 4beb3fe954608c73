package decode

import (
	"errors"

	"dlmstream/engine/model"
)

// FlashBlock in block decoding (Params.FlashBlock): the sequence keeps one
// model.FlashState, points every denoising forward at it with the current
// block's start, and drops it when the block commits or the sequence ends.

// newFlash returns the FlashBlock state p asks for (nil when off), or why
// a's decoding cannot take it.
func newFlash(a Arch, p Params) (*model.FlashState, error) {
	if !p.FlashBlock {
		if p.FlashRefresh {
			return nil, errors.New("decode: FlashRefresh without FlashBlock")
		}
		return nil, nil
	}
	switch _, freeDave := p.Policy.(FreeDave); {
	case p.NoCache:
		return nil, errors.New("decode: FlashBlock caches attention over the committed-block KV cache; NoCache recomputes the whole sequence instead")
	case a.Block <= 1:
		return nil, errors.New("decode: FlashBlock needs block-diffusion decoding (block size > 1), not the autoregressive baseline")
	case freeDave:
		return nil, errors.New("decode: FlashBlock does not compose with FreeDave (its candidate states run as branches of one forward)")
	}
	return &model.FlashState{}, nil
}

// flashFor is the state for a denoising forward of the block at bs.
func (s *blockSeq) flashFor(bs int) *model.FlashState {
	if s.flash == nil {
		return nil
	}
	s.flash.Start = bs
	s.flash.Refresh = s.p.FlashRefresh
	return s.flash
}

// dropFlash frees the cached prefix attention (a new block, or the end).
func (s *blockSeq) dropFlash() {
	if s.flash != nil {
		s.flash.Drop()
	}
}
