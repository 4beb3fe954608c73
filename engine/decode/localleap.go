package decode

// LocalLeap (training-free; dllm-engine-spec.md section 8): anchors are the
// masked positions whose confidence is at least High; a masked position
// within Radius block offsets of an anchor is committed with a relaxed bar,
// confidence at least Low. Without an anchor the most confident position
// alone is committed, as one token per step would.
type LocalLeap struct {
	High, Low float32
	Radius    int // default 1
}

func (p LocalLeap) Select(c *Candidates) []int {
	if c.Len() == 0 {
		return nil
	}
	r := max(p.Radius, 1)
	var anchors []int // block offsets, ascending (c.Pos is)
	for i, ch := range c.Choice {
		if ch.Conf >= p.High {
			anchors = append(anchors, c.Pos[i])
		}
	}
	if len(anchors) == 0 {
		return byKey(c, conf)[:1]
	}
	var out []int
	a := 0
	for i, ch := range c.Choice {
		pos := c.Pos[i]
		for a+1 < len(anchors) && anchors[a+1] <= pos {
			a++
		}
		// The nearest anchor is anchors[a] (at or before pos) or the next.
		near := abs(pos-anchors[a]) <= r || a+1 < len(anchors) && anchors[a+1]-pos <= r
		if ch.Conf >= p.High || near && ch.Conf >= p.Low {
			out = append(out, i)
		}
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
