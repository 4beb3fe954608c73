package decode_test

import (
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// Blocks is the floor of Forwards: every block a step is taken in needs
// its own forward, whatever the policy, and FreeDave over a policy counts
// the same blocks as the policy (the same output). The oracle that
// commits every mask at once reaches the floor.
func TestBlocksFloor(t *testing.T) {
	m, a := loadModel(t, "demo-text", model.LoadOptions{Exact: true})
	prompts, stop := freeDavePrompts(t, "demo-text", 30)
	run := func(pr []int32, pol decode.Policy) (out []int32, forwards, blocks int) {
		s := decodeBlock(t, m, a, pr, decode.Params{MaxNew: 48, Stop: stop, Policy: pol})
		return s.Output(), s.Forwards(), s.(decode.BlockCounter).Blocks()
	}
	for _, pol := range []decode.Policy{decode.StaticTopK{Steps: a.Block}, decode.Threshold{Tau: 0.9}, decode.Threshold{Tau: 0.5}} {
		for i, pr := range prompts {
			out, f, b := run(pr, pol)
			want := (len(pr)%a.Block + len(out) + a.Block - 1) / a.Block // the blocks the output (and the prompt's tail) spans
			if b != want || f < b {
				t.Fatalf("%+v prompt %d: %d tokens after a %d-token tail: %d blocks (want %d) in %d forwards", pol, i, len(out), len(pr)%a.Block, b, want, f)
			}
			vout, vf, vb := run(pr, decode.FreeDave{Of: pol})
			if vb != b || vf < vb || len(vout) != len(out) {
				t.Fatalf("%+v prompt %d: FreeDave %d blocks in %d forwards, the policy %d in %d", pol, i, vb, vf, b, f)
			}
		}
	}
	for i, pr := range prompts {
		if _, f, b := run(pr, decode.Oracle{K: a.Block}); f != b {
			t.Fatalf("prompt %d: the all-at-once oracle took %d forwards for %d blocks", i, f, b)
		}
	}
}
