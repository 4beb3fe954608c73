package decode

import (
	"dlmstream/engine/model"
	"math"
)

// Credit is CreditDecoding (as in dInfer): each masked position keeps credit
// for the tokens it kept predicting. Every step after the first of a block
// decays all credit by Beta; position l's current argmax gains
// (max p_l)^Gamma; the logits are then fused as logits + Alpha·log(1+credit)
// and decoded with Threshold{Tau}. Credit resets when the block is done.
// Stateful: the engine gives each sequence its own copy via Fresh.
type Credit struct {
	Alpha, Beta, Gamma float32 // 0.7, 0.8, 0.2 in dInfer
	Tau                float32 // threshold after fusion (0.9)

	credit map[int]map[int32]float32 // block offset -> token -> credit
	steps  int
}

// DefaultCredit has dInfer's defaults.
func DefaultCredit() *Credit { return &Credit{Alpha: 0.7, Beta: 0.8, Gamma: 0.2, Tau: 0.9} }

func (p *Credit) Fresh() Policy {
	return &Credit{Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Tau: p.Tau}
}

func (p *Credit) BeginStep() {
	if p.credit == nil {
		p.credit = map[int]map[int32]float32{}
	}
	if p.steps > 0 {
		for _, m := range p.credit {
			for t := range m {
				m[t] *= p.Beta
			}
		}
	}
	p.steps++
}

func (p *Credit) Adjust(pos int, logits []float32) {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	var z float64
	for _, l := range logits {
		z += float64(model.Exp32(l - logits[best]))
	}
	m := p.credit[pos]
	if m == nil {
		m = map[int32]float32{}
		p.credit[pos] = m
	}
	m[int32(best)] += float32(math.Pow(1/z, float64(p.Gamma)))
	for t, c := range m {
		logits[t] += p.Alpha * float32(math.Log1p(float64(c)))
	}
}

func (p *Credit) Select(c *Candidates) []int { return Threshold{Tau: p.Tau}.Select(c) }

func (p *Credit) ResetBlock() { p.credit, p.steps = nil, 0 }

// SchED is progress-aware early exit: with g the mean logit margin
// (top1 - top2) over the block's masked positions and progress the fraction
// of the block already decoded, once g >= Tau(progress) every remaining mask
// is committed with its current argmax; until then Inner decides. Tau falls
// linearly from High at progress 0 to Low at progress 1.
type SchED struct {
	Inner     Policy
	High, Low float32
}

// Unwrap and Rewrap make SchED a Wrapper of Inner.
func (p SchED) Unwrap() Policy { return p.Inner }

func (p SchED) Rewrap(inner Policy) Policy {
	p.Inner = inner
	return p
}

func (p SchED) Select(c *Candidates) []int {
	if c.Len() == 0 {
		return nil
	}
	var g float32
	for _, ch := range c.Choice {
		g += min(ch.LogitMargin, 1e6)
	}
	g /= float32(c.Len())
	progress := float32(0)
	if c.Masks0 > 0 {
		progress = 1 - float32(c.Len())/float32(c.Masks0)
	}
	if g >= p.High+(p.Low-p.High)*progress {
		all := make([]int, c.Len())
		for i := range all {
			all[i] = i
		}
		return all
	}
	return p.Inner.Select(c)
}
