package schema

import (
	"context"
	"errors"
	"slices"

	"dlmstream/engine"
	"dlmstream/kernels/cpu"
)

// headScores returns log p(head | prefix) for each union-branch head
// (scaffold_union.go), prefix being the prompt and the canvas before the
// union. Models causal across blocks score a head as altScores scores a
// choice, in context, the head's last block padded with masks to its end
// as decoding would see it; bidirectional models score every head position
// masked in one pass (mean-field, as choose scores choices).
func headScores(ctx context.Context, e *engine.Engine, prefix []int32, heads [][]int32, mask int32) ([]float64, int, error) {
	scores := make([]float64, len(heads))
	tr := e.Model.Traits()
	shift := 0
	if tr.Shifted {
		shift = 1
	}
	if len(prefix) < shift+1 {
		return nil, 0, errors.New("schema: no prompt before the union to score its branches on")
	}
	if tr.Mask.Kind == cpu.Bidirectional {
		p0 := len(prefix)
		start := p0 - shift
		req := engine.ScoreRequest{Prompt: prefix[:start]}
		for _, h := range heads {
			toks := slices.Concat(prefix[start:], slices.Repeat([]int32{mask}, len(h)))
			var pass engine.ScorePass
			for i, t := range h {
				pass.Rows = append(pass.Rows, p0+i-shift-start)
				pass.Targets = append(pass.Targets, t)
			}
			pass.Tokens = toks
			req.Passes = append(req.Passes, pass)
		}
		res, err := e.Score(ctx, req)
		if err != nil {
			return nil, res.Forwards, err
		}
		return res.Scores, res.Forwards, nil
	}
	B := 1
	if tr.Mask.Kind == cpu.BlockCausal {
		B = tr.Mask.Block
	}
	tail := slices.Repeat([]int32{mask}, B)
	forwards := 0
	// One request per head length (altScores scores alternatives of one
	// width).
	byLen := map[int][]int{}
	var lens []int
	for i, h := range heads {
		if _, ok := byLen[len(h)]; !ok {
			lens = append(lens, len(h))
		}
		byLen[len(h)] = append(byLen[len(h)], i)
	}
	for _, w := range lens {
		sl := &slot{width: w}
		for _, i := range byLen[w] {
			sl.alts = append(sl.alts, heads[i])
		}
		s, f, err := altScores(ctx, e, prefix, sl, tail, mask, mask)
		forwards += f
		if err != nil {
			return nil, forwards, err
		}
		for j, i := range byLen[w] {
			scores[i] = s[j]
		}
	}
	return scores, forwards, nil
}
