package decode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// lladaGolden is testdata/golden/decode/tiny-llada.json, written by
// tools/reference/llada_golden.py: LLaDA's full-canvas decoding as the
// reference code runs it (NVlabs/Fast-dLLM llada/generate.py: generate,
// generate_with_prefix_cache, generate_with_dual_cache, greedy,
// low_confidence; the no-cache static cases also agree with ML-GSAI/LLaDA's
// generate()), on LLaDA's own modeling code.
type lladaGolden struct {
	Model       string `json:"model"`
	MaskTokenID int32  `json:"mask_token_id"`
	Cases       []struct {
		Name        string  `json:"name"`
		Prompt      []int32 `json:"prompt"`
		GenLength   int     `json:"gen_length"`
		BlockLength int     `json:"block_length"`
		Policy      struct {
			Kind  string  `json:"kind"`
			Steps int     `json:"steps"` // per block
			Tau   float32 `json:"tau"`
		} `json:"policy"`
		Cache    string  `json:"cache"`
		Output   []int32 `json:"output"`
		Forwards int     `json:"forwards"`
		Fragile  bool    `json:"fragile"`
	} `json:"cases"`
}

var lladaCaches = map[string]decode.CacheKind{"none": decode.NoCanvasCache, "prefix": decode.PrefixCache, "dual": decode.DualCache}

// TestLLaDADecodeGoldens: the full-canvas decoder on tiny-llada (exact
// kernels) must give the reference's tokens, with the same number of
// forwards, in every cache mode. The prefix and dual caches are
// approximations (stale suffix K/V, dllm-engine-spec.md 4.3), and the same
// ones in both implementations, so they are held to the reference's cached
// outputs, not to the no-cache ones. A case whose reference decision was
// within fp32 noise, or where the reference's argmax at a masked position
// is the mask token (the engine never picks it), is marked fragile and may
// differ (skipped with the difference shown).
func TestLLaDADecodeGoldens(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "decode", "tiny-llada.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g lladaGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	m, a := loadModel(t, g.Model, model.LoadOptions{Exact: true})
	if a.MaskID != g.MaskTokenID || a.Shifted || a.Causal {
		t.Fatalf("arch %+v, golden mask %d", a, g.MaskTokenID)
	}
	same, total := map[string]int{}, map[string]int{}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var pol decode.Policy
			switch c.Policy.Kind {
			case "static":
				pol = decode.StaticTopK{Steps: c.Policy.Steps}
			case "threshold":
				pol = decode.Threshold{Tau: c.Policy.Tau} // Fast-dLLM v1: first always, then c >= tau
			default:
				t.Fatalf("unknown policy %+v", c.Policy)
			}
			kind, ok := lladaCaches[c.Cache]
			if !ok {
				t.Fatalf("unknown cache %q", c.Cache)
			}
			p := decode.CanvasParams{Params: decode.Params{MaxNew: c.GenLength, Policy: pol}, BlockLen: c.BlockLength, Cache: kind}
			s, err := decode.NewCanvas(a, c.Prompt, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := decode.Run(context.Background(), m, m.NewPool(0).NewSequence(), s); err != nil {
				t.Fatal(err)
			}
			got := s.Output()
			total[c.Cache]++
			if !slices.Equal(got, c.Output) {
				msg := fmt.Sprintf("tokens differ from LLaDA's reference (%d of %d positions):\n got %v\nwant %v", tokensDiffering(got, c.Output), len(c.Output), got, c.Output)
				if c.Fragile && len(got) == len(c.Output) {
					t.Skipf("fragile reference decision; %s", msg)
				}
				t.Fatal(msg)
			}
			same[c.Cache]++
			if s.Forwards() != c.Forwards {
				t.Errorf("%d forwards, reference %d", s.Forwards(), c.Forwards)
			}
		})
	}
	for _, k := range []string{"none", "prefix", "dual"} {
		t.Logf("cache %s: %d of %d cases token-identical to the reference", k, same[k], total[k])
	}
}
