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
	"dlmstream/kernels/cpu"
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
			got, forwards := lladaDecode(t, m, a, c.Prompt, c.GenLength, c.BlockLength, c.Policy.Kind, c.Policy.Steps, c.Policy.Tau, c.Cache)
			total[c.Cache]++
			if !slices.Equal(got, c.Output) {
				msg := fmt.Sprintf("tokens differ from LLaDA's reference (%d of %d positions):\n got %v\nwant %v", tokensDiffering(got, c.Output), len(c.Output), got, c.Output)
				if c.Fragile && len(got) == len(c.Output) {
					t.Skipf("fragile reference decision; %s", msg)
				}
				t.Fatal(msg)
			}
			same[c.Cache]++
			if forwards != c.Forwards {
				t.Errorf("%d forwards, reference %d", forwards, c.Forwards)
			}
		})
	}
	for _, k := range []string{"none", "prefix", "dual"} {
		t.Logf("cache %s: %d of %d cases token-identical to the reference", k, same[k], total[k])
	}
	if !cpu.PreferPacked() {
		return
	}
	// The packed bf16 fast path rounds activations as a bf16 PyTorch run
	// does, and the random model's decisions are close (confidences near
	// 0.02, logit gaps of 3e-3): near-ties flip and the canvas diverges
	// after them (measured on avx512bf16panel: 2-4 of 15 cases identical
	// per cache mode, 78-81% of tokens). Reported, not asserted.
	fm, fa := loadModel(t, g.Model, model.LoadOptions{})
	for _, k := range []string{"none", "prefix", "dual"} {
		n, agree, tokens, all := 0, 0, 0, 0
		for _, c := range g.Cases {
			if c.Cache != k {
				continue
			}
			got, _ := lladaDecode(t, fm, fa, c.Prompt, c.GenLength, c.BlockLength, c.Policy.Kind, c.Policy.Steps, c.Policy.Tau, c.Cache)
			n++
			if slices.Equal(got, c.Output) {
				agree++
			}
			if len(got) == len(c.Output) {
				tokens += len(c.Output) - tokensDiffering(got, c.Output)
			}
			all += len(c.Output)
		}
		t.Logf("packed path %s, cache %s: %d of %d cases token-identical (%d tokens of %d)", cpu.Path(), k, agree, n, tokens, all)
	}
}

// lladaDecode runs one golden case's full-canvas decoding and returns the
// output and the forwards it took.
func lladaDecode(t *testing.T, m model.Model, a decode.Arch, prompt []int32, gen, block int, kind string, steps int, tau float32, cache string) ([]int32, int) {
	t.Helper()
	var pol decode.Policy
	switch kind {
	case "static":
		pol = decode.StaticTopK{Steps: steps}
	case "threshold":
		pol = decode.Threshold{Tau: tau} // Fast-dLLM v1: first always, then c >= tau
	default:
		t.Fatalf("unknown policy %q", kind)
	}
	ck, ok := lladaCaches[cache]
	if !ok {
		t.Fatalf("unknown cache %q", cache)
	}
	p := decode.CanvasParams{Params: decode.Params{MaxNew: gen, Policy: pol}, BlockLen: block, Cache: ck}
	s, err := decode.NewCanvas(a, prompt, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode.Run(context.Background(), m, m.NewPool(0).NewSequence(), s); err != nil {
		t.Fatal(err)
	}
	return s.Output(), s.Forwards()
}
