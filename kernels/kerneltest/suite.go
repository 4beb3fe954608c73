package kerneltest

import (
	"fmt"
	"sync"
	"testing"
)

// A testCase is one set of inputs for one op. check runs it on b and
// records in r every disagreement with the float64 reference and, when
// b is not the CPU backend, with CPU{}.
type testCase struct {
	name  string
	check func(b Backend, r *results)
}

// An op is one Backend method and its cases. cases builds the inputs and
// the references once per process (they are shared by every backend run).
type op struct {
	name  string
	cases func() []testCase
}

// ops lists what Run checks, in order.
var ops = []op{
	{"MatMulBF16", sync.OnceValue(matmulCases)},
	{"RMSNorm", sync.OnceValue(rmsnormCases)},
	{"RoPE", sync.OnceValue(ropeCases)},
	{"SiLUMul", sync.OnceValue(siluCases)},
	{"Add", sync.OnceValue(addCases)},
	{"AddBias", sync.OnceValue(addBiasCases)},
	{"Embed", sync.OnceValue(embedCases)},
	{"Attention", sync.OnceValue(attentionCases)},
	{"RowStats", sync.OnceValue(rowStatsCases)},
	{"Validation", sync.OnceValue(validationCases)},
}

// Run checks every op of b, one subtest per op and per case
// (Run(t, b)/MatMulBF16/m=4,n=17,k=40). Each failure names the op, the
// case, the output element, got, want and the tolerance; a case's log
// (go test -v) gives its worst |Δ|/tolerance, the headroom left.
// Validation checks that bad shapes return errors; a backend that panics
// instead fails that case without stopping the suite.
func Run(t *testing.T, b Backend) {
	t.Helper()
	for _, o := range ops {
		t.Run(o.name, func(t *testing.T) {
			for _, c := range o.cases() {
				t.Run(c.name, func(t *testing.T) {
					r := runCase(b, o.name, c)
					for _, err := range r.errs {
						t.Error(err)
					}
					if s := r.summary(); s != "" {
						t.Log(s)
					}
				})
			}
		})
	}
}

// check runs every case of the op named name on b and returns its failures.
func check(b Backend, name string) []error {
	for _, o := range ops {
		if o.name != name {
			continue
		}
		var errs []error
		for _, c := range o.cases() {
			errs = append(errs, runCase(b, o.name, c).errs...)
		}
		return errs
	}
	return []error{fmt.Errorf("kerneltest: no op %q", name)}
}

// runCase runs one case on b, turning a panic into a failure.
func runCase(b Backend, opName string, c testCase) (r *results) {
	r = newResults(opName, c.name)
	defer func() {
		if p := recover(); p != nil {
			r.fail(fmt.Errorf("%s panicked: %v", b.Name(), p))
		}
		r.finish()
	}()
	c.check(b, r)
	return r
}

// floatCase is a case whose result is one fp32 slice.
type floatCase struct {
	name string
	out  string // the result's name in failures: "out", "x", ...
	// run computes the result on b from fresh copies of the inputs.
	run   func(b Backend) ([]float32, error)
	want  []float64 // the float64 reference
	scale []float64 // each element's scale for tol; nil: |want|
	tol   tolerance
}

// testCase checks c's result against the reference and, for a backend
// other than "cpu", against CPU{} under the same tolerance.
func (c floatCase) testCase() testCase {
	if c.scale == nil {
		c.scale = abs(c.want)
	}
	return testCase{name: c.name, check: func(b Backend, r *results) {
		got, err := c.run(b)
		if err != nil {
			r.fail(fmt.Errorf("%s: %w", b.Name(), err))
			return
		}
		r.floats(c.out, "reference", got, c.want, c.scale, c.tol)
		if b.Name() == (CPU{}).Name() {
			return
		}
		ref, err := c.run(CPU{})
		if err != nil {
			r.fail(fmt.Errorf("cpu: %w", err))
			return
		}
		r.floats(c.out, "cpu", got, widen(ref), c.scale, c.tol)
	}}
}
