package vision

import "fmt"

// imagePositions are the M-RoPE ids of an image's merged rows relative to its
// first position (transformers' Qwen2_5_VLModel.get_vision_position_ids with
// start 0): row (t, y, x) of the merged grid is at (t, y, x); the text after
// the image continues max(H, W)/merge positions later (the span).
func imagePositions(g GridTHW, merge int) (pos [3][]int, span int) {
	lh, lw := g.H/merge, g.W/merge
	n := g.T * lh * lw
	for c := range pos {
		pos[c] = make([]int, 0, n)
	}
	for t := range g.T {
		for y := range lh {
			for x := range lw {
				pos[0] = append(pos[0], t)
				pos[1] = append(pos[1], y)
				pos[2] = append(pos[2], x)
			}
		}
	}
	return pos, max(g.H, g.W) / merge
}

// RopeIndex is transformers' Qwen2_5_VLModel.get_rope_index for one prompt of
// still images: the (temporal, height, width) M-RoPE position ids [3][len(ids)]
// and rope_delta = max(position)+1-len(ids), which decoding adds to the 1-D
// position of every later token. Text tokens take consecutive positions on
// all three axes; each run of imageTokenID tokens takes the next grid's
// merged rows (grids in prompt order, merge = spatial_merge_size), starting at
// the position after the preceding text.
func RopeIndex(ids []int, imageTokenID int, grids []GridTHW, merge int) (pos [3][]int, delta int, err error) {
	for c := range pos {
		pos[c] = make([]int, len(ids))
	}
	cur, next := 0, 0
	maxPos := -1
	for i := 0; i < len(ids); {
		if ids[i] != imageTokenID {
			for c := range pos {
				pos[c][i] = cur
			}
			maxPos = max(maxPos, cur)
			cur++
			i++
			continue
		}
		if next >= len(grids) {
			return pos, 0, fmt.Errorf("vision: image token at %d but only %d image grids", i, len(grids))
		}
		rel, span := imagePositions(grids[next], merge)
		next++
		n := len(rel[0])
		if i+n > len(ids) {
			return pos, 0, fmt.Errorf("vision: image %d needs %d tokens, the prompt has %d left", next-1, n, len(ids)-i)
		}
		for j := range n {
			if ids[i+j] != imageTokenID {
				return pos, 0, fmt.Errorf("vision: image %d needs %d tokens, found a run of %d", next-1, n, j)
			}
			for c := range pos {
				pos[c][i+j] = cur + rel[c][j]
				maxPos = max(maxPos, cur+rel[c][j])
			}
		}
		cur += span
		i += n
	}
	if next != len(grids) {
		return pos, 0, fmt.Errorf("vision: %d image grids for %d images in the prompt", len(grids), next)
	}
	return pos, maxPos + 1 - len(ids), nil
}
