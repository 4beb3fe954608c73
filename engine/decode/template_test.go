package decode_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"dlmstream/engine/decode"
)

// rangeConstraint allows only ids in [lo, hi) in template slots, and never
// the same token at two neighbouring positions.
type rangeConstraint struct {
	lo, hi  int32
	mask    int32
	rejects int
}

func (c *rangeConstraint) Restrict(gen []int32, pos int, logits []float32) {
	for t := range logits {
		if int32(t) < c.lo || int32(t) >= c.hi || (pos > 0 && gen[pos-1] == int32(t)) || (pos+1 < len(gen) && gen[pos+1] == int32(t)) {
			logits[t] = float32(math.Inf(-1))
		}
	}
}

func (c *rangeConstraint) Accept(gen []int32, pos int, tok int32) bool {
	ok := (pos == 0 || gen[pos-1] != tok) && (pos+1 >= len(gen) || gen[pos+1] != tok)
	if !ok {
		c.rejects++
	}
	return ok
}

// template: fixed tokens with slots; the first 8 positions are all fixed so
// a whole block needs no denoising.
func template(mask int32) []int32 {
	t := []int32{11, 12, 13, 14, 15, 16, 17, 18}
	for i := range 14 {
		if i%3 == 2 {
			t = append(t, int32(30+i))
		} else {
			t = append(t, mask)
		}
	}
	return t
}

func checkTemplate(t *testing.T, tmpl, out []int32, mask int32) {
	t.Helper()
	if len(out) != len(tmpl) {
		t.Fatalf("output %d tokens, template %d", len(out), len(tmpl))
	}
	for g, want := range tmpl {
		switch {
		case want != mask && out[g] != want:
			t.Fatalf("position %d: %d, template fixes %d", g, out[g], want)
		case want == mask && (out[g] < 100 || out[g] >= 200):
			t.Fatalf("slot %d: token %d outside the constraint [100, 200)", g, out[g])
		case g > 0 && out[g] == out[g-1] && (want == mask || tmpl[g-1] == mask):
			t.Fatalf("positions %d and %d both %d despite the constraint", g-1, g, out[g])
		}
	}
}

func TestTemplateAndConstraint(t *testing.T) {
	policies := []decode.Policy{decode.StaticTopK{Steps: 8}, decode.Threshold{Tau: 0.05}, decode.Oracle{K: 4}}
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm"} {
		m, a := loadTiny(t, name)
		for _, pol := range policies {
			for _, bc := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%T/blockcache=%v", name, pol, bc), func(t *testing.T) {
					tmpl := template(a.MaskID)
					c := &rangeConstraint{lo: 100, hi: 200, mask: a.MaskID}
					p := decode.Params{Template: tmpl, Constraint: c, Policy: pol, SubBlock: 4, BlockCache: bc}
					out, fwd := generate(t, m, a, prompt(6, 4), p)
					checkTemplate(t, tmpl, out, a.MaskID)
					if !bc {
						p.NoCache = true
						p.Constraint = &rangeConstraint{lo: 100, hi: 200, mask: a.MaskID}
						full, _ := generate(t, m, a, prompt(6, 4), p)
						if !slices.Equal(out, full) {
							t.Fatalf("cache %v != no cache %v", out, full)
						}
					}
					t.Logf("%d forwards, %d rejected commits", fwd, c.rejects)
				})
			}
		}
	}
	t.Run("dream canvas", func(t *testing.T) {
		m, a := dreamModel(t)
		tmpl := template(a.MaskID)
		for i := range tmpl { // the dream test vocabulary has 100 ids
			if tmpl[i] != a.MaskID {
				tmpl[i] %= 50
			}
		}
		c := &rangeConstraint{lo: 50, hi: 99, mask: a.MaskID}
		out := runCanvas(t, m, a, []int32{1, 2, 3}, decode.CanvasParams{Params: decode.Params{Template: tmpl, Constraint: c, Policy: decode.Threshold{Tau: 0.01}}, BlockLen: 8})
		if len(out) != len(tmpl) {
			t.Fatalf("%d tokens", len(out))
		}
		for g, want := range tmpl {
			if want != a.MaskID && out[g] != want || want == a.MaskID && (out[g] < 50 || out[g] >= 99) {
				t.Fatalf("position %d: %d (template %d)", g, out[g], want)
			}
		}
	})
}
