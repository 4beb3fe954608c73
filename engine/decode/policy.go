package decode

import (
	"iter"
	"sort"
)

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

// Wrapper is a policy that defers to another (PriorGuided's Fallback,
// SchED's Inner). The decoder reaches the inner policy's hooks through it:
// a Stateful inner one gets a fresh copy per sequence, an Adjuster inner
// one rewrites the logits, a BlockResetter is told of each finished block.
type Wrapper interface {
	Policy
	Unwrap() Policy
	// Rewrap is the wrapper around inner instead.
	Rewrap(inner Policy) Policy
}

// chain yields p, then the policies it wraps, outermost first.
func chain(p Policy) iter.Seq[Policy] {
	return func(yield func(Policy) bool) {
		for p != nil && yield(p) {
			w, ok := p.(Wrapper)
			if !ok {
				return
			}
			p = w.Unwrap()
		}
	}
}

// adjusterOf is p's Adjuster, or the one it wraps.
func adjusterOf(p Policy) (Adjuster, bool) {
	for q := range chain(p) {
		if a, ok := q.(Adjuster); ok {
			return a, true
		}
	}
	return nil, false
}

// resetBlock tells p, and the policies it wraps, that a block is done.
func resetBlock(p Policy) {
	for q := range chain(p) {
		if r, ok := q.(BlockResetter); ok {
			r.ResetBlock()
		}
	}
}

// refresh is p with fresh per-sequence state, its wrapped policy's
// included, and whether anything in p has state.
func refresh(p Policy) (Policy, bool) {
	if st, ok := p.(Stateful); ok {
		return st.Fresh(), true
	}
	if w, ok := p.(Wrapper); ok && w.Unwrap() != nil {
		if in, ok := refresh(w.Unwrap()); ok {
			return w.Rewrap(in), true
		}
	}
	return p, false
}

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
