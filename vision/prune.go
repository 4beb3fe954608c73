package vision

import (
	"fmt"
	"math"
	"slices"
)

// KeepDiverse chooses k of n image rows [n, hidden] to keep: the greedy
// max-min (k-center) selection of DivPrune, in cosine distance. The pinned
// rows (layout rows such as LLaVA's image_newline; none: the first row)
// are kept, then again and again the row farthest from every row kept so
// far (ties: the lower index), so duplicates go last and the kept rows
// cover what the image shows. It returns the kept indices in ascending
// order, the rows' order in the prompt. Cost: n·k dot products of hidden.
func KeepDiverse(rows []float32, n, hidden, k int, pinned []int) ([]int, error) {
	switch {
	case n <= 0 || hidden <= 0 || len(rows) != n*hidden:
		return nil, fmt.Errorf("vision: keep %d of %d rows: %d floats, want %d×%d", k, n, len(rows), n, hidden)
	case k < max(1, len(pinned)) || k > n:
		return nil, fmt.Errorf("vision: keep %d of %d rows: want %d to %d", k, n, max(1, len(pinned)), n)
	}
	unit := make([]float32, len(rows)) // [n, hidden], rows scaled to norm 1 (zero rows stay zero)
	for i := range n {
		r, u := rows[i*hidden:(i+1)*hidden], unit[i*hidden:(i+1)*hidden]
		var ss float64
		for _, v := range r {
			ss += float64(v) * float64(v)
		}
		if ss == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(ss))
		for j, v := range r {
			u[j] = v * inv
		}
	}
	dist := make([]float32, n) // cosine distance to the nearest kept row
	for i := range dist {
		dist[i] = float32(math.Inf(1))
	}
	kept := make([]bool, n)
	keep := func(j int) {
		kept[j] = true
		uj := unit[j*hidden : (j+1)*hidden]
		for i := range n {
			if kept[i] {
				continue
			}
			var dot float32
			for h, v := range unit[i*hidden : (i+1)*hidden] {
				dot += v * uj[h]
			}
			dist[i] = min(dist[i], 1-dot)
		}
	}
	var out []int
	for _, p := range pinned {
		switch {
		case p < 0 || p >= n:
			return nil, fmt.Errorf("vision: pinned row %d outside [0, %d)", p, n)
		case kept[p]:
			return nil, fmt.Errorf("vision: row %d pinned twice", p)
		}
		out = append(out, p)
		keep(p)
	}
	if len(out) == 0 {
		out = append(out, 0)
		keep(0)
	}
	for len(out) < k {
		best := -1
		for i, d := range dist {
			if !kept[i] && (best < 0 || d > dist[best]) {
				best = i
			}
		}
		out = append(out, best)
		keep(best)
	}
	slices.Sort(out)
	return out, nil
}
