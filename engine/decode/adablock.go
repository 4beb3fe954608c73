package decode

import "math"

// AdaBlock is AdaBlock-dLLM's adaptive block length for full-canvas
// decoding (training-free; spec 8): at each block start the first forward's
// predictions over a window of the canvas are read, and if a delimiter id is
// predicted with probability >= Tau somewhere in it, the block ends just
// after the most confident such position; otherwise the block has the
// default CanvasParams.BlockLen.
type AdaBlock struct {
	// Delims are the delimiter token ids (e.g. the tokenizer's "\n").
	Delims []int32
	// Tau is the delimiter confidence threshold τ_D: a masked position's
	// softmax probability of a delimiter id (the mask token excluded).
	Tau float32
	// Window is the look-ahead from the block start (0: BlockLen); blocks
	// may end anywhere in it, so it also bounds their length.
	Window int
}

// end returns the block end for a block starting at bs: pos[i] is a masked
// canvas position whose logits are rows[i] [V]; def is the default end.
func (ab *AdaBlock) end(bs, def int, pos []int, rows func(i int) []float32, mask int32) int {
	best, at := float32(-1), -1
	for i, j := range pos {
		if j >= bs+ab.Window {
			break
		}
		if _, p := idProbs(rows(i), mask, ab.Delims); p >= ab.Tau && p > best {
			best, at = p, j
		}
	}
	if at < 0 {
		return def
	}
	return at + 1
}

// idProbs returns the softmax probabilities, over row [V] with entry
// exclude left out, of the ids summed and of the likeliest id.
func idProbs(row []float32, exclude int32, ids []int32) (sum, best float32) {
	mx := float32(math.Inf(-1))
	for v, l := range row {
		if int32(v) != exclude && l > mx {
			mx = l
		}
	}
	if math.IsInf(float64(mx), -1) {
		return 0, 0
	}
	var z float64
	for v, l := range row {
		if int32(v) != exclude {
			z += math.Exp(float64(l - mx))
		}
	}
	for _, id := range ids {
		if id == exclude || id < 0 || int(id) >= len(row) {
			continue
		}
		p := float32(math.Exp(float64(row[id]-mx)) / z)
		sum += p
		best = max(best, p)
	}
	return sum, best
}
