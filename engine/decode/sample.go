package decode

import (
	"dlmstream/engine/model"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling chooses a token from one position's logits.
type Sampling struct {
	// Temperature 0 is greedy (argmax, first index on ties).
	Temperature float64
	// TopK > 0 keeps the K most likely tokens before sampling.
	TopK int
	// TopP in (0, 1) keeps the smallest set whose probability reaches TopP.
	TopP float64
	// Seed seeds the sampler's PCG stream; equal seeds give equal outputs.
	Seed uint64
}

// Choice is the sampler's pick for one masked position and the statistics
// the unmasking policies rank positions by.
type Choice struct {
	Token int32
	// Conf is the probability of Token: softmax(logits)[Token] when greedy,
	// its renormalized probability after temperature/top-k/top-p otherwise.
	Conf float32
	// Margin is p(top1) - p(top2) under softmax(logits).
	Margin float32
	// LogitMargin is logit(top1) - logit(top2).
	LogitMargin float32
	// Entropy is -Σ p log p of softmax(logits) (nats).
	Entropy float32
}

// ChoiceOf is a model.RowStat as the policies read it.
func ChoiceOf(r model.RowStat) Choice {
	return Choice{Token: r.Token, Conf: r.Conf, Margin: r.Margin, LogitMargin: r.LogitMargin, Entropy: r.Entropy}
}

// greedyChoice is Pick's greedy choice from a row's summary.
func greedyChoice(r model.RowStat) Choice {
	c := ChoiceOf(r)
	if c.Token < 0 {
		c.Token = 0 // every entry -Inf, as Pick
	}
	return c
}

// Sampler is a Sampling with its random stream. Not safe for concurrent use.
type Sampler struct {
	Sampling
	rng  *rand.Rand
	cand []cand
}

type cand struct {
	id int32
	p  float64
}

// NewSampler returns a sampler with its own seeded stream.
func NewSampler(s Sampling) *Sampler {
	return &Sampler{Sampling: s, rng: rand.New(rand.NewPCG(s.Seed, 0x9E3779B97F4A7C15))}
}

// Pick chooses a token from logits [V]. Entries set to -Inf are never chosen
// (the engine sets the mask token's logit to -Inf).
func (s *Sampler) Pick(logits []float32) Choice {
	c := greedyChoice(model.Summarize(logits, -1))
	mx := logits[c.Token]
	if s.Temperature <= 0 {
		return c
	}
	c.Token, c.Conf = s.sample(logits, mx)
	return c
}

// sample draws from softmax(logits/T) restricted by top-k and top-p.
func (s *Sampler) sample(logits []float32, mx float32) (int32, float32) {
	inv := 1 / float32(s.Temperature)
	s.cand = s.cand[:0]
	var z float64
	for i, l := range logits {
		if math.IsInf(float64(l), -1) {
			continue
		}
		p := float64(model.Exp32((l - mx) * inv))
		if p == 0 {
			continue
		}
		s.cand = append(s.cand, cand{int32(i), p})
		z += p
	}
	if s.TopK > 0 || (s.TopP > 0 && s.TopP < 1) {
		sort.Slice(s.cand, func(a, b int) bool {
			if s.cand[a].p != s.cand[b].p {
				return s.cand[a].p > s.cand[b].p
			}
			return s.cand[a].id < s.cand[b].id
		})
		if s.TopK > 0 && len(s.cand) > s.TopK {
			s.cand = s.cand[:s.TopK]
		}
		z = 0
		for _, c := range s.cand {
			z += c.p
		}
		if s.TopP > 0 && s.TopP < 1 {
			var acc float64
			for i, c := range s.cand {
				acc += c.p / z
				if acc >= s.TopP {
					s.cand = s.cand[:i+1]
					break
				}
			}
			z = 0
			for _, c := range s.cand {
				z += c.p
			}
		}
	}
	u := s.rng.Float64() * z
	for _, c := range s.cand {
		u -= c.p
		if u <= 0 {
			return c.id, float32(c.p / z)
		}
	}
	last := s.cand[len(s.cand)-1]
	return last.id, float32(last.p / z)
}
