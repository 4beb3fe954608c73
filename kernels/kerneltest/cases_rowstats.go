package kerneltest

import (
	"fmt"
	"math"
)

var negInf = float32(math.Inf(-1))

// statsCase is one RowStats input: logits [rows, vocab]. want is nil when
// some row has only -Inf entries, which must be an error.
type statsCase struct {
	name        string
	logits      []float32
	rows, vocab int
	want        []refStat
}

// rowStatsCases: one and two entries, exact ties (two- and three-way, and a
// flat row of 49999), a near tie 4e-6 apart, -Inf entries (the mask token),
// one finite entry (LogitMargin +Inf), a dominant logit (Conf ≈ 1),
// vocabularies of 50000 and 151936 (Qwen's), and a row of only -Inf.
func rowStatsCases() []testCase {
	var cs []statsCase
	add := func(name string, rows, vocab int, logits []float32) {
		cs = append(cs, statsCase{name: name, logits: logits, rows: rows, vocab: vocab})
	}
	add("vocab=1", 2, 1, []float32{3.5, -2})
	add("vocab=2", 3, 2, []float32{0.5, -1, -3, 7, 1.25, 1.25})
	l := normals(newRand("RowStats", "tie3"), 10, 1)
	l[2], l[5], l[9] = 4, 4, 4
	add("tie3", 1, 10, l)
	add("-Inf entries", 1, 6, []float32{negInf, 2, negInf, 1, negInf, 1.5})
	add("one finite", 2, 5, []float32{negInf, negInf, 4, negInf, negInf, -7, negInf, negInf, negInf, negInf})
	l = normals(newRand("RowStats", "near tie"), 1000, 2)
	l[10], l[900] = 9, 9.000004
	add("near tie", 1, 1000, l)
	const v = 50000
	l = normals(newRand("RowStats", "vocab=50000"), 4*v, 3)
	for r := range 4 {
		l[r*v+r*7], l[r*v+v-1] = negInf, negInf // mask tokens
	}
	l[v+123] = 25 // row 1: Conf ≈ 1
	clear(l[3*v : 4*v-1])
	add("vocab=50000", 4, v, l) // row 3: flat, entropy log 49999
	add("vocab=151936", 1, 151936, normals(newRand("RowStats", "vocab=151936"), 151936, 3))
	add("all -Inf row", 2, 4, []float32{1, 2, 3, 4, negInf, negInf, negInf, negInf})

	var tcs []testCase
	for _, c := range cs {
		c.want = make([]refStat, c.rows)
		for r := range c.rows {
			s, ok := refRowStat(c.logits[r*c.vocab : (r+1)*c.vocab])
			if !ok {
				c.want = nil
				break
			}
			c.want[r] = s
		}
		tcs = append(tcs, testCase{name: c.name, check: c.check})
	}
	return tcs
}

// check compares b's stats with the reference and, for a backend other
// than "cpu", with CPU{}'s.
func (c statsCase) check(b Backend, r *results) {
	got, err := c.run(b)
	if c.want == nil {
		if err == nil {
			r.fail(fmt.Errorf("%s: no error for a row of only -Inf", b.Name()))
		}
		return
	}
	if err != nil {
		r.fail(fmt.Errorf("%s: %w", b.Name(), err))
		return
	}
	c.compare(r, "reference", got, c.want)
	if b.Name() == (CPU{}).Name() {
		return
	}
	cs, err := c.run(CPU{})
	if err != nil {
		r.fail(fmt.Errorf("cpu: %w", err))
		return
	}
	want := make([]refStat, len(cs))
	for i, s := range cs {
		want[i] = refStat{token: int(s.Token), top: float64(c.logits[i*c.vocab+int(s.Token)]),
			conf: float64(s.Conf), margin: float64(s.Margin), logitMargin: float64(s.LogitMargin), entropy: float64(s.Entropy)}
	}
	c.compare(r, "cpu", got, want)
}

// run computes the stats on b, every field NaN (Token -1) until written.
func (c statsCase) run(b Backend) ([]RowStat, error) {
	nan := float32(math.NaN())
	stats := make([]RowStat, c.rows)
	for i := range stats {
		stats[i] = RowStat{Token: -1, Conf: nan, Margin: nan, LogitMargin: nan, Entropy: nan}
	}
	return stats, b.RowStats(stats, append([]float32(nil), c.logits...), c.rows, c.vocab)
}

// compare checks each row: Token is want's, or another whose logit is
// within tieWindow of the maximum; the measures are within statsTol.
func (c statsCase) compare(r *results, against string, got []RowStat, want []refStat) {
	for i, g := range got {
		w := want[i]
		row := c.logits[i*c.vocab : (i+1)*c.vocab]
		if t := int(g.Token); t != w.token && (t < 0 || t >= c.vocab || !(w.top-float64(row[t]) <= tieWindow)) {
			logit := math.NaN()
			if t >= 0 && t < c.vocab {
				logit = float64(row[t])
			}
			r.fail(fmt.Errorf("Token[%d] = %d (logit %.9g), want %d (%s; logit %.9g): not within tolerance %g of the maximum",
				i, t, logit, w.token, against, w.top, tieWindow))
		}
		r.element("Conf", against, i, float64(g.Conf), w.conf, statsTol, 0)
		r.element("Margin", against, i, float64(g.Margin), w.margin, statsTol, 0)
		r.element("LogitMargin", against, i, float64(g.LogitMargin), w.logitMargin, statsTol, 0)
		r.element("Entropy", against, i, float64(g.Entropy), w.entropy, statsTol, 0)
	}
}
