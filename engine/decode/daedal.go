package decode

// Daedal is DAEDAL's variable canvas length (training-free; spec 8), in two
// stages.
//
//  1. Initial length: the canvas starts at Init masks; while the EOS
//     confidence at its tail (the mean, over its last Tail positions, of the
//     EOS ids' summed softmax probability) is below Tau, Chunk masks are
//     appended and the first forward is run again (nothing is committed
//     meanwhile), up to MaxNew and Arch.MaxPos.
//  2. Expansion: at every denoising step, the current block's least
//     confident masked position that the policy left masked, if its
//     confidence is below Expand, becomes Factor masks (Factor-1 are
//     inserted after it, the block grows by as many), within the same bounds.
type Daedal struct {
	// Init is the starting canvas length (0: min(64, MaxNew)).
	Init int
	// Chunk is the number of masks appended per stage-1 round (0: 32).
	Chunk int
	// Tail is the number of trailing positions whose EOS confidence is read
	// (0: 8, capped at the canvas).
	Tail int
	// Tau is the stage-1 EOS confidence threshold (0: 0.5).
	Tau float32
	// Expand is the stage-2 low-confidence threshold (0: stage 2 off).
	Expand float32
	// Factor is the number of masks an expanded position becomes (0: 2).
	Factor int
	// EOS are the end-of-sequence ids (nil: Params.Stop).
	EOS []int32
}

// lowest returns the candidate index with the lowest confidence below
// Expand among those the canvas still holds masked, or -1.
func (d *Daedal) lowest(c *Candidates, stillMasked func(pos int) bool) int {
	at := -1
	for i, ch := range c.Choice {
		if ch.Conf < d.Expand && stillMasked(c.Pos[i]) && (at < 0 || ch.Conf < c.Choice[at].Conf) {
			at = i
		}
	}
	return at
}
