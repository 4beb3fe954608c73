package decode_test

import (
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// A stateful, logit-fusing policy keeps working behind a wrapper: Credit
// behind a prior that proposes nothing, or behind SchED with an
// unreachable bar, decodes exactly as Credit alone (its fusion applied,
// its state fresh per sequence and reset per block), which on some
// prompts differs from the plain threshold Credit decodes with.
func TestWrappedCredit(t *testing.T) {
	m, a := loadModel(t, "demo-text", model.LoadOptions{Exact: true})
	prompts, stop := freeDavePrompts(t, "demo-text", 60)
	credit := decode.DefaultCredit() // one value shared by every sequence, as a caller would
	wrapped := map[string]decode.Policy{
		"prior":  decode.PriorGuided{Draft: decode.Draft{Tail: -1}, Fallback: credit},
		"sched":  decode.SchED{Inner: credit, High: 1e9, Low: 1e9},
		"nested": decode.SchED{Inner: decode.PriorGuided{Draft: decode.Draft{Tail: -1}, Fallback: credit}, High: 1e9, Low: 1e9},
	}
	differs := 0
	for i, pr := range prompts {
		p := decode.Params{MaxNew: 48, Stop: stop, Policy: credit}
		want, wf := generate(t, m, a, pr, p)
		p.Policy = decode.Threshold{Tau: credit.Tau}
		if th, tf := generate(t, m, a, pr, p); !slices.Equal(th, want) || tf != wf {
			differs++
		}
		for name, w := range wrapped {
			p.Policy = w
			if got, gf := generate(t, m, a, pr, p); !slices.Equal(got, want) || gf != wf {
				t.Fatalf("prompt %d: credit behind %s gave %v in %d forwards, credit alone %v in %d", i, name, got, gf, want, wf)
			}
		}
	}
	if differs == 0 {
		t.Fatalf("credit decoded as the plain threshold on all %d prompts: the test cannot tell fusion from none", len(prompts))
	}
	t.Logf("credit differs from the plain threshold on %d/%d prompts", differs, len(prompts))
}
