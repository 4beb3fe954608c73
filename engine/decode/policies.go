package decode

// StaticTopK commits the NumTransfer(Masks0, Steps, Step) most confident
// positions per step (LLaDA low_confidence, SDAR low_confidence_static).
// Steps equal to the block size is one token per step.
type StaticTopK struct{ Steps int }

func (p StaticTopK) Select(c *Candidates) []int {
	return byKey(c, conf)[:clampK(NumTransfer(c.Masks0, p.Steps, c.Step), c.Len())]
}

// TopK commits the K most confident positions per step (fewer when fewer
// are masked).
type TopK struct{ K int }

func (p TopK) Select(c *Candidates) []int { return byKey(c, conf)[:clampK(p.K, c.Len())] }

// Threshold is Fast-dLLM's confidence threshold. With Strict false (v1):
// sort by confidence; always commit the first; commit the k-th (k >= 2) iff
// its confidence >= Tau. With Strict true (v2): commit {c > Tau} ∪ {argmax c}.
type Threshold struct {
	Tau    float32
	Strict bool
}

func (p Threshold) Select(c *Candidates) []int {
	idx := byKey(c, conf)
	n := 1
	for n < len(idx) {
		v := c.Choice[idx[n]].Conf
		if (p.Strict && v > p.Tau) || (!p.Strict && v >= p.Tau) {
			n++
			continue
		}
		break
	}
	return idx[:n]
}

// Factor is Fast-dLLM v1's factor rule: with confidences sorted descending,
// commit the largest n such that c_(i) >= 1 - F/(i+1) for every i <= n
// (1-based; i = 1 always committed).
type Factor struct{ F float32 }

func (p Factor) Select(c *Candidates) []int {
	idx := byKey(c, conf)
	n := 1
	for n < len(idx) && c.Choice[idx[n]].Conf >= 1-p.F/float32(n+2) {
		n++
	}
	return idx[:n]
}

// Dynamic is SDAR's low_confidence_dynamic: if at least k =
// NumTransfer(Masks0, Steps, Step) positions have confidence > Tau, commit
// all of them; otherwise the k most confident.
type Dynamic struct {
	Tau   float32
	Steps int
}

func (p Dynamic) Select(c *Candidates) []int {
	idx := byKey(c, conf)
	k := clampK(NumTransfer(c.Masks0, p.Steps, c.Step), c.Len())
	above := 0
	for _, i := range idx {
		if c.Choice[i].Conf > p.Tau {
			above++
		}
	}
	if above >= k {
		return idx[:above]
	}
	return idx[:k]
}

// EntropyBounded is the EB-sampler: sort positions by entropy ascending and
// commit the k lowest, k = #{prefix sums of entropy < Gamma}, clamped to
// [1, masks] (torch.searchsorted(cumsum(H), Gamma), left side).
type EntropyBounded struct{ Gamma float32 }

func (p EntropyBounded) Select(c *Candidates) []int {
	idx := byKey(c, func(ch Choice) float32 { return -ch.Entropy })
	var acc float32
	k := 0
	for _, i := range idx {
		acc += c.Choice[i].Entropy
		if acc >= p.Gamma {
			break
		}
		k++
	}
	return idx[:clampK(k, len(idx))]
}

// TopKMargin ranks positions by p(top1) - p(top2) (Dream topk_margin) and
// commits NumTransfer(Masks0, Steps, Step) of them.
type TopKMargin struct{ Steps int }

func (p TopKMargin) Select(c *Candidates) []int {
	idx := byKey(c, func(ch Choice) float32 { return ch.Margin })
	return idx[:clampK(NumTransfer(c.Masks0, p.Steps, c.Step), c.Len())]
}

// Oracle commits exactly K positions per step (the leftmost K masked
// positions), whatever the confidences: it shows the engine's cost curve
// at a fixed tokens-per-forward on random weights, whose flat confidences
// would otherwise commit one token per step.
type Oracle struct{ K int }

func (p Oracle) Select(c *Candidates) []int {
	idx := make([]int, clampK(p.K, c.Len()))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Sequential commits the leftmost masked position (JetEngine sequential):
// autoregressive order inside the block.
type Sequential struct{}

func (Sequential) Select(c *Candidates) []int { return []int{0} }
