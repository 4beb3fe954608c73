package decode_test

import (
	"fmt"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// barOnly commits by IterSmooth's decaying bar but feeds no soft inputs.
type barOnly struct{ decode.IterSmooth }

func (p barOnly) Select(c *decode.Candidates) []int { return p.IterSmooth.Select(c) }

// On real weights: with a zero soft weight the inputs are the mask
// embedding, so the output is token-identical to the bare schedule (the
// soft inputs reach the model at the right rows, and nothing else
// changes); with dInfer's weights, the committed-block cache stays exact
// (cached and recomputed decoding agree).
func TestIterSmoothOnModel(t *testing.T) {
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm"} {
		m, a := loadTiny(t, name)
		emb := m.(model.TokenEmbedder)
		for _, n := range []int{3, 8, 13} {
			t.Run(fmt.Sprintf("%s/prompt%d", name, n), func(t *testing.T) {
				zero := decode.DefaultIterSmooth(0.1)
				zero.W0, zero.WStep, zero.WMax = 0, 0, 0
				p := decode.Params{MaxNew: 20, SubBlock: 4, Embedder: emb}
				p.Policy = zero
				soft0, _ := generate(t, m, a, prompt(n, 1), p)
				p.Policy = barOnly{zero}
				bare, _ := generate(t, m, a, prompt(n, 1), p)
				if !slices.Equal(soft0, bare) {
					t.Fatalf("zero weight %v\n  bare schedule %v", soft0, bare)
				}
				p.Policy = decode.DefaultIterSmooth(0.1)
				cached, _ := generate(t, m, a, prompt(n, 1), p)
				p.NoCache = true
				full, _ := generate(t, m, a, prompt(n, 1), p)
				if !slices.Equal(cached, full) {
					t.Fatalf("cached %v\n  uncached %v", cached, full)
				}
			})
		}
	}
}
