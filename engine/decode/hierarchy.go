package decode

// Hierarchy is dInfer's hierarchical decoding (dllm-engine-spec.md section
// 5): the still-masked positions of the block fall into maximal runs of
// contiguous masks; each run commits its most confident position if that
// confidence exceeds Low, every position whose confidence exceeds High is
// committed too, and the most confident position of the block always is.
// A run between committed tokens is thus filled from one anchor per run per
// step while the threshold alone would wait for High (dInfer: High 0.9,
// Low 0.4).
type Hierarchy struct {
	High, Low float32
}

func (p Hierarchy) Select(c *Candidates) []int {
	if c.Len() == 0 {
		return nil
	}
	best := byKey(c, conf)[0]
	out := []int{best}
	take := func(i int) {
		if i != best {
			out = append(out, i)
		}
	}
	runBest := -1 // the most confident candidate of the current run
	flush := func() {
		if runBest >= 0 && c.Choice[runBest].Conf > p.Low && c.Choice[runBest].Conf <= p.High {
			take(runBest) // above High it is taken below anyway
		}
		runBest = -1
	}
	for i, ch := range c.Choice {
		if i > 0 && c.Pos[i] != c.Pos[i-1]+1 {
			flush() // a committed token ends the run
		}
		if runBest < 0 || ch.Conf > c.Choice[runBest].Conf {
			runBest = i
		}
		if ch.Conf > p.High {
			take(i)
		}
	}
	flush()
	return out
}
