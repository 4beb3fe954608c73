package model

import "fmt"

// Positions are the multimodal rotary position ids (M-RoPE, Qwen2.5-VL) of
// one sequence: a (temporal, height, width) triple per absolute position.
// The prompt's triples are explicit (text tokens have three equal ids, image
// rows their grid coordinates, the text after an image continues past the
// image's largest id); every position p after them is at p + Delta on all
// three axes, Delta being transformers' rope delta, max(prompt ids) + 1 -
// len(prompt). A nil *Positions means 1-D positions: p on every axis.
type Positions struct {
	IDs   [3][]int // [3][n]: axis (temporal, height, width), absolute position < n
	Delta int
}

// NewPositions checks a prompt's ids [3][n] (equal lengths, non-negative)
// and derives Delta from them.
func NewPositions(ids [3][]int) (*Positions, error) {
	n := len(ids[0])
	if n == 0 {
		return nil, fmt.Errorf("positions: no position ids")
	}
	top := -1
	for a := range ids {
		if len(ids[a]) != n {
			return nil, fmt.Errorf("positions: axis %d has %d ids, axis 0 has %d", a, len(ids[a]), n)
		}
		for p, v := range ids[a] {
			if v < 0 {
				return nil, fmt.Errorf("positions: axis %d position %d has negative id %d", a, p, v)
			}
			top = max(top, v)
		}
	}
	return &Positions{IDs: ids, Delta: top + 1 - n}, nil
}

// Len is the number of explicit positions.
func (p *Positions) Len() int {
	if p == nil {
		return 0
	}
	return len(p.IDs[0])
}

// At returns the ids of absolute position pos on the three axes.
func (p *Positions) At(pos int) (t, h, w int) {
	if p == nil {
		return pos, pos, pos
	}
	if pos < len(p.IDs[0]) {
		return p.IDs[0][pos], p.IDs[1][pos], p.IDs[2][pos]
	}
	return pos + p.Delta, pos + p.Delta, pos + p.Delta
}

// Linear reports whether every explicit position has equal ids on the
// three axes: 1-D positions, consecutive or not (a prompt whose pruned
// image rows keep their original positions), which a model with plain
// RoPE can take.
func (p *Positions) Linear() bool {
	if p == nil {
		return true
	}
	for i, t := range p.IDs[0] {
		if p.IDs[1][i] != t || p.IDs[2][i] != t {
			return false
		}
	}
	return true
}

// Plain reports whether position pos has the 1-D ids (pos on every axis):
// its K/V are then those of a request that carries no positions.
func (p *Positions) Plain(pos int) bool {
	t, h, w := p.At(pos)
	return t == pos && h == pos && w == pos
}
