package decode_test

import (
	"context"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// logitsOnly hides a sequence's summary path: it clears Work.Summary, so
// the forward returns logits and Apply picks from them.
type logitsOnly struct{ decode.Sequence }

func (s logitsOnly) Next() (decode.Work, bool) {
	w, ok := s.Sequence.Next()
	w.Summary = false
	return w, ok
}

// countSummaries counts the forwards that asked for row summaries.
type countSummaries struct {
	decode.Sequence
	n *int
}

func (s countSummaries) Next() (decode.Work, bool) {
	w, ok := s.Sequence.Next()
	if w.Summary {
		*s.n++
	}
	return w, ok
}

func (s countSummaries) ApplySummaries(st []model.RowStat) {
	s.Sequence.(decode.Summarized).ApplySummaries(st)
}

// TestSummariesMatchLogits: block decoding from row summaries (the form
// a device returns) commits the same tokens in the same forwards as from
// the logits, on both SDAR (unshifted, mask token excluded) and Fast-dLLM
// v2 (shifted), for the greedy policies that take summaries; a policy that
// adjusts logits or a constraint never asks for them.
func TestSummariesMatchLogits(t *testing.T) {
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm", "demo-text"} {
		m, a := loadModel(t, name, model.LoadOptions{})
		for _, c := range []struct {
			name      string
			pol       decode.Policy
			summaries bool
		}{
			{"static", decode.StaticTopK{Steps: a.Block}, true},
			{"dynamic", decode.Dynamic{Tau: 0.7, Steps: a.Block}, true},
			{"threshold", decode.Threshold{Tau: 0.9, Strict: true}, true},
			{"entropy", decode.EntropyBounded{Gamma: 0.5}, true},
			{"credit", &decode.Credit{Alpha: 0.7, Beta: 0.8, Gamma: 0.2, Tau: 0.9}, false},
		} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				p := decode.Params{MaxNew: 24, Policy: c.pol, SubBlock: max(a.Block/2, 1)}
				run := func(s decode.Sequence) ([]int32, int) {
					cache := m.NewPool(0).NewSequence()
					defer cache.Free()
					if err := decode.Run(context.Background(), m, cache, s); err != nil {
						t.Fatal(err)
					}
					return s.Output(), s.Forwards()
				}
				s1, err := decode.NewBlock(a, prompt(12, 3), p)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				got, fg := run(countSummaries{s1, &n})
				s2, _ := decode.NewBlock(a, prompt(12, 3), p)
				want, fw := run(logitsOnly{s2})
				if (n > 0) != c.summaries {
					t.Fatalf("%d forwards asked for summaries, want summaries %v", n, c.summaries)
				}
				if !slices.Equal(got, want) || fg != fw {
					t.Fatalf("from summaries %v in %d forwards, from logits %v in %d", got, fg, want, fw)
				}
			})
		}
	}
}
