package decode

// RhoEOS is ρ-EOS's variable canvas length (training-free; spec 8). At each
// block start, ρ is the mean, over every still-masked canvas position, of
// the softmax probability of the EOS ids (summed over them, the mask token
// excluded), read from the block's first forward. If ρ > Hi the canvas is
// shrunk by Chunk trailing masks (never into the current block); if ρ < Lo
// it grows by Chunk masks, up to MaxNew generated positions and the model's
// Arch.MaxPos. One stage, both ways.
type RhoEOS struct {
	// Init is the starting canvas length (0: min(64, MaxNew)).
	Init int
	// Chunk is the number of masks dropped or appended at once (0: 32).
	Chunk int
	// Lo and Hi bound the EOS density: grow below Lo, shrink above Hi.
	Lo, Hi float32
	// EOS are the end-of-sequence ids (nil: Params.Stop).
	EOS []int32
}

// resize returns how many masks to append (> 0) or drop (< 0) given the
// density rho, the trailing masks after the current block, and the room
// left to grow.
func (r *RhoEOS) resize(rho float32, trailing, room int) int {
	switch {
	case rho > r.Hi:
		return -min(r.Chunk, trailing)
	case rho < r.Lo:
		return min(r.Chunk, room)
	}
	return 0
}
