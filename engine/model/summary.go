package model

import "math"

// RowStat summarises one row of logits as greedy decoding reads it: the
// argmax and the confidence measures of softmax(logits). A forward can
// return these instead of the logits (Seq.Summaries), so a device sends 20
// bytes per row to the host instead of the vocabulary.
type RowStat struct {
	Token       int32   // argmax (the first, on ties); -1 when no entry is finite
	Conf        float32 // softmax probability of Token
	Margin      float32 // p(top1) - p(top2)
	LogitMargin float32 // logit(top1) - logit(top2); +Inf with one finite entry
	Entropy     float32 // -Σ p log p, nats
}

// Summarize returns row's RowStat, with entry exclude (the mask token; -1
// for none) taken as -Inf, as the decoders set it. -Inf entries add
// nothing to the softmax; the engine's sampler computes its greedy
// choices with this function, and the device kernel (row_stats_f32)
// follows it.
func Summarize(row []float32, exclude int32) RowStat {
	i1, i2 := -1, -1
	for i, l := range row {
		if int32(i) == exclude || math.IsInf(float64(l), -1) {
			continue
		}
		if i1 < 0 || l > row[i1] {
			i1, i2 = i, i1
		} else if i2 < 0 || l > row[i2] {
			i2 = i
		}
	}
	if i1 < 0 {
		return RowStat{Token: -1}
	}
	mx := row[i1]
	var z, ez float64
	for i, l := range row {
		if int32(i) == exclude {
			continue
		}
		d := l - mx
		e := Exp32(d)
		if e == 0 { // -Inf or far below: adds nothing, and 0·-Inf would be NaN
			continue
		}
		z += float64(e)
		ez += float64(e) * float64(d)
	}
	c := RowStat{Token: int32(i1), Conf: float32(1 / z), Entropy: float32(math.Log(z) - ez/z)}
	if i2 >= 0 {
		c.Margin = float32((1 - float64(Exp32(row[i2]-mx))) / z)
		c.LogitMargin = mx - row[i2]
	} else {
		c.Margin, c.LogitMargin = c.Conf, float32(math.Inf(1))
	}
	return c
}
