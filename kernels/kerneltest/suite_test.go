package kerneltest

import (
	"fmt"
	"strings"
	"testing"
)

func TestCPU(t *testing.T) {
	Run(t, CPU{})
}

// TestBrokenBackends checks that the suite can fail: a backend with one op
// spoilt (broken_test.go) fails exactly that op, against the reference and
// against CPU{}, with failures that name the op, case, element, got, want
// and tolerance.
func TestBrokenBackends(t *testing.T) {
	for _, bad := range ops {
		if bad.name == "Validation" {
			continue // broken keeps CPU's argument checks
		}
		t.Run(bad.name, func(t *testing.T) {
			b := broken{op: bad.name}
			for _, o := range ops {
				errs := check(b, o.name)
				switch {
				case o.name == bad.name && len(errs) == 0:
					t.Errorf("%s passed %s", b.Name(), o.name)
				case o.name != bad.name && len(errs) > 0:
					t.Errorf("%s failed %s, which it does not spoil: %v", b.Name(), o.name, errs[0])
				}
			}
		})
	}
}

func TestFailureMessages(t *testing.T) {
	errs := check(broken{op: "AddBias"}, "AddBias")
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"AddBias/rows=3,dim=40: x[80] = ", // op, case, output element
		"(reference): |Δ| = ",
		"(cpu): |Δ| = ",
		"> tolerance ",
		"x against reference: 995 more mismatches (1000 in all)", // rows=7,dim=1000: the last row
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no failure contains %q; got:\n%s", want, all)
		}
	}
}

func TestPanicIsAFailure(t *testing.T) {
	errs := check(panicky{}, "Attention")
	if len(errs) != len(attnRuns) {
		t.Fatalf("got %d failures, want one per case (%d): %v", len(errs), len(attnRuns), errs)
	}
	if !strings.Contains(errs[0].Error(), "panicky panicked: index out of range") {
		t.Errorf("got %v", errs[0])
	}
}

func TestUnknownOp(t *testing.T) {
	if errs := check(CPU{}, "Softmax"); len(errs) != 1 {
		t.Errorf("check of an unknown op: %v", errs)
	}
}

func TestRowStat(t *testing.T) {
	inf := float32(negInf)
	for _, tc := range []struct {
		logits []float32
		want   string
	}{
		{[]float32{2}, "token 0 conf 1 margin 1 logit margin +Inf entropy 0"},
		{[]float32{inf, 2, inf}, "token 1 conf 1 margin 1 logit margin +Inf entropy 0"},
		{[]float32{1, 1}, "token 0 conf 0.5 margin 0 logit margin 0 entropy 0.693147"},
		{[]float32{0, inf, 0, 0, 0}, "token 0 conf 0.25 margin 0 logit margin 0 entropy 1.38629"},
		{[]float32{inf, inf}, "no finite logit"},
	} {
		got := "no finite logit"
		if s, ok := rowStat(tc.logits); ok {
			got = fmt.Sprintf("token %d conf %.6g margin %.6g logit margin %g entropy %.6g", s.Token, s.Conf, s.Margin, s.LogitMargin, s.Entropy)
		}
		if got != tc.want {
			t.Errorf("rowStat(%v) = %s, want %s", tc.logits, got, tc.want)
		}
	}
}
