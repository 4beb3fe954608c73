package model

import (
	"math"
	"testing"
)

// TestSummarize: the greedy summary of hand-checked rows, with and without
// an excluded entry (taken as -Inf, as the decoders set the mask token).
func TestSummarize(t *testing.T) {
	inf := float32(math.Inf(-1))
	ln2 := float32(math.Ln2)
	for _, c := range []struct {
		name    string
		row     []float32
		exclude int32
		want    RowStat
	}{
		{"two equal", []float32{0, 0}, -1, RowStat{Token: 0, Conf: 0.5, Margin: 0, LogitMargin: 0, Entropy: ln2}},
		{"excluded max", []float32{0, 9, 0}, 1, RowStat{Token: 0, Conf: 0.5, Margin: 0, LogitMargin: 0, Entropy: ln2}},
		{"excluded as -Inf", []float32{0, inf, 0}, -1, RowStat{Token: 0, Conf: 0.5, Margin: 0, LogitMargin: 0, Entropy: ln2}},
		{"one finite", []float32{inf, 3, inf}, -1, RowStat{Token: 1, Conf: 1, Margin: 1, LogitMargin: float32(math.Inf(1)), Entropy: 0}},
		{"one left after exclusion", []float32{5, 3}, 0, RowStat{Token: 1, Conf: 1, Margin: 1, LogitMargin: float32(math.Inf(1)), Entropy: 0}},
		{"none finite", []float32{inf, inf}, -1, RowStat{Token: -1}},
		{"exclusion out of range", []float32{1, 0}, 7, RowStat{Token: 0, Conf: 0.7310586, Margin: 0.4621172, LogitMargin: 1, Entropy: 0.5822031}},
	} {
		got := Summarize(c.row, c.exclude)
		near := func(a, b float32) bool { return a == b || math.Abs(float64(a-b)) < 1e-6 }
		if got.Token != c.want.Token || !near(got.Conf, c.want.Conf) || !near(got.Margin, c.want.Margin) ||
			!near(got.LogitMargin, c.want.LogitMargin) || !near(got.Entropy, c.want.Entropy) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
