package kerneltest

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// maxReported is how many mismatches of one output against one source a
// case reports in full; the rest are counted.
const maxReported = 5

// mismatch is one output element outside its tolerance.
type mismatch struct {
	what           string // the output: "out", "x", "Conf", ...
	index          int    // flat index into it (RowStats: the row)
	got, want, tol float64
	against        string // "reference" (float64) or "cpu"
}

func (m mismatch) Error() string {
	return fmt.Sprintf("%s[%d] = %.9g, want %.9g (%s): |Δ| = %.3g > tolerance %.3g",
		m.what, m.index, m.got, m.want, m.against, math.Abs(m.got-m.want), m.tol)
}

// results collects one case's failures and how close its passing elements
// came to their bounds.
type results struct {
	prefix string         // "op/case: "
	errs   []error        // each prefixed
	counts map[string]int // mismatches per output and source
	worst  map[string]worst
}

// worst is the largest |Δ|/bound seen against one source, and where.
type worst struct {
	ratio float64
	at    string
}

func newResults(op, name string) *results {
	return &results{prefix: op + "/" + name + ": ", counts: map[string]int{}, worst: map[string]worst{}}
}

// fail records a failure that is not an element mismatch.
func (r *results) fail(err error) {
	r.errs = append(r.errs, fmt.Errorf("%s%w", r.prefix, err))
}

// element compares one output element with want under tol at scale.
func (r *results) element(what, against string, i int, got, want float64, tol tolerance, scale float64) {
	bound := tol.bound(scale)
	if within(got, want, tol, scale) {
		ratio := 0.0
		if got != want && bound > 0 {
			ratio = math.Abs(got-want) / bound
		}
		if w, ok := r.worst[against]; !ok || ratio > w.ratio {
			r.worst[against] = worst{ratio, fmt.Sprintf("%s[%d]", what, i)}
		}
		return
	}
	key := what + " against " + against
	r.counts[key]++
	if r.counts[key] <= maxReported {
		r.fail(mismatch{what: what, index: i, got: got, want: want, tol: bound, against: against})
	}
}

// floats compares every element of got with want, scale[i] being element
// i's scale.
func (r *results) floats(what, against string, got []float32, want, scale []float64, tol tolerance) {
	if len(got) != len(want) {
		r.fail(fmt.Errorf("%s has %d elements, want %d", what, len(got), len(want)))
		return
	}
	for i, g := range got {
		r.element(what, against, i, float64(g), want[i], tol, scale[i])
	}
}

// finish adds one error per output with more mismatches than reported.
func (r *results) finish() {
	keys := make([]string, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if n := r.counts[k]; n > maxReported {
			r.fail(fmt.Errorf("%s: %d more mismatches (%d in all)", k, n-maxReported, n))
		}
	}
}

// summary is the worst |Δ|/bound per source, for the test log.
func (r *results) summary() string {
	var b strings.Builder
	for _, src := range []string{"reference", "cpu"} {
		if w, ok := r.worst[src]; ok {
			fmt.Fprintf(&b, "worst |Δ|/tolerance against %s: %.3g at %s; ", src, w.ratio, w.at)
		}
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// abs returns |x[i]| for every i: the scale of the ops whose error is
// relative to the result.
func abs(x []float64) []float64 {
	a := make([]float64, len(x))
	for i, v := range x {
		a[i] = math.Abs(v)
	}
	return a
}

// widen returns x in float64.
func widen(x []float32) []float64 {
	w := make([]float64, len(x))
	for i, v := range x {
		w[i] = float64(v)
	}
	return w
}
