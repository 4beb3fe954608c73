package decode

import "sort"

// Candidates are the still-masked positions of the block at one denoising
// step, with the sampler's choice for each. Slices are parallel.
type Candidates struct {
	Pos    []int    // block offsets, ascending
	Choice []Choice // sampler output per position
	// Step counts the denoising steps already taken in this block; Masks0 is
	// the number of masks the block started with. Static schedules use them.
	Step, Masks0 int
	// Generated is the output so far indexed by generated position (the
	// current block's masks included); Pos[i]+Base is the generated index of
	// candidate i. Prior-guided policies align a draft against it.
	Generated []int32
	Base      int
}

// Len is the number of masked positions.
func (c *Candidates) Len() int { return len(c.Pos) }

// Policy decides which masked positions to commit at one step.
//
// Select returns indices into c.Pos; it must return at least one index when
// c.Len() > 0, so every step makes progress. Policies are values; the ones
// with state across steps implement Stateful and get a fresh copy per
// sequence.
type Policy interface {
	Select(c *Candidates) []int
}

// Stateful is a Policy with per-sequence state (credit fusion).
type Stateful interface {
	Policy
	// Fresh returns a new instance with empty state for one sequence.
	Fresh() Policy
}

// BlockResetter is notified when a block is finished.
type BlockResetter interface{ ResetBlock() }

// Adjuster rewrites the logits of a masked position before sampling.
type Adjuster interface {
	// BeginStep is called once per denoising step, before any Adjust.
	BeginStep()
	// Adjust may modify logits [V] of block offset pos in place.
	Adjust(pos int, logits []float32)
}

// NumTransfer is how many tokens a static schedule commits at step (0-based)
// when a block of masks0 masks is spread over steps steps: masks0/steps,
// plus one for the first masks0%steps steps (LLaDA, SDAR).
func NumTransfer(masks0, steps, step int) int {
	if steps <= 0 {
		return masks0
	}
	n := masks0 / steps
	if step < masks0%steps {
		n++
	}
	return n
}

// byConf returns candidate indices sorted by key descending; ties keep the
// lower position first.
func byKey(c *Candidates, key func(Choice) float32) []int {
	idx := make([]int, c.Len())
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return key(c.Choice[idx[a]]) > key(c.Choice[idx[b]]) })
	return idx
}

func conf(ch Choice) float32 { return ch.Conf }

// clampK keeps k within [1, n] (0 when nothing is masked).
func clampK(k, n int) int {
	if n == 0 {
		return 0
	}
	return max(1, min(k, n))
}
