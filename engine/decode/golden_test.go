package decode_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
	"dlmstream/kernels/cuda"
)

// onDevice moves a loaded model to CUDA device 0 (closed with the test).
func onDevice(t *testing.T, m model.Model) model.Model {
	t.Helper()
	b, err := cuda.NewBackend(0)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := m.(interface {
		Device(*cuda.Backend) (model.Model, error)
	})
	if !ok {
		t.Fatalf("%T has no device form", m)
	}
	dm, err := d.Device(b)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { // before loadModel's cleanup closes the host model
		dm.(interface{ Free() }).Free()
		b.Close()
	})
	return dm
}

// Decode goldens come from tools/reference/decode_golden.py: the SDAR and
// Fast-dLLM v2 algorithms in plain PyTorch on the tiny checkpoints,
// recomputing the whole sequence at every forward (no cache), greedy.
// Go must be token-identical, with its committed-block cache, on the exact
// kernels; the demo checkpoint must also be on the packed bf16 fast path
// where the kernels prefer it (the random tiny checkpoints have near-ties
// that bf16 activations tip: 2 of their cases change there), except the
// cases of fastDiffers, which may differ there in one token at most.
type decodeGolden struct {
	Model       string  `json:"model"`
	MaskTokenID int32   `json:"mask_token_id"`
	StopIDs     []int32 `json:"stop_ids"`
	BlockSize   int     `json:"block_size"`
	Cases       []struct {
		Name   string  `json:"name"`
		Prompt []int32 `json:"prompt"`
		MaxNew int     `json:"max_new"`
		Policy struct {
			Kind  string  `json:"kind"`
			Steps int     `json:"steps"`
			K     int     `json:"k"`
			Tau   float32 `json:"tau"`
		} `json:"policy"`
		SubBlock   int     `json:"sub_block"`
		BlockCache bool    `json:"block_cache"`
		Output     []int32 `json:"output"`
		Forwards   int     `json:"forwards"`
		Fragile    bool    `json:"fragile"`
	} `json:"cases"`
}

// fastDiffers are the demo-text cases whose output on the fast path (bf16
// activations and a bf16 KV cache, as a PyTorch bf16 model runs) differs
// from the fp32 reference, and why. Each may differ in one token.
var fastDiffers = map[string]string{
	// None for the issue 17 checkpoint: every case matches on the fast path
	// too. (Issue 5's checkpoint had a near-tie digit in one sort answer.)
}

func TestDecodeGoldens(t *testing.T) {
	type run struct {
		name         string
		fast, device bool
	}
	runs := []run{{"tiny-sdar", false, false}, {"tiny-fastdllm", false, false}, {"demo-text", false, false}}
	if cpu.PreferPacked() {
		runs = append(runs, run{"demo-text", true, false})
	}
	if _, err := cuda.Devices(); err == nil { // the device's numerics are the fast path's
		runs = append(runs, run{"demo-text", true, true})
	}
	for _, r := range runs {
		name := r.name
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "decode", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var g decodeGolden
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		m, a := loadModel(t, name, model.LoadOptions{Exact: !r.fast || r.device})
		label := name
		switch {
		case r.device:
			m = onDevice(t, m)
			label += "/cuda"
		case r.fast:
			label += "/" + cpu.Path()
		}
		if a.Block != g.BlockSize || a.MaskID != g.MaskTokenID {
			t.Fatalf("%s: arch %+v, golden block %d mask %d", name, a, g.BlockSize, g.MaskTokenID)
		}
		for _, c := range g.Cases {
			t.Run(label+"/"+c.Name, func(t *testing.T) {
				var pol decode.Policy
				switch {
				case c.Policy.Kind == "static" && c.Policy.K > 0:
					pol = decode.TopK{K: c.Policy.K}
				case c.Policy.Kind == "static":
					pol = decode.StaticTopK{Steps: c.Policy.Steps}
				case c.Policy.Kind == "dynamic":
					pol = decode.Dynamic{Tau: c.Policy.Tau, Steps: c.Policy.Steps}
				case c.Policy.Kind == "threshold":
					pol = decode.Threshold{Tau: c.Policy.Tau, Strict: true} // Fast-dLLM v2 rule
				default:
					t.Fatalf("unknown golden policy %+v", c.Policy)
				}
				p := decode.Params{MaxNew: c.MaxNew, Policy: pol, Stop: g.StopIDs, SubBlock: c.SubBlock, BlockCache: c.BlockCache}
				got, forwards := generate(t, m, a, c.Prompt, p)
				if !slices.Equal(got, c.Output) {
					msg := fmt.Sprintf("tokens differ from PyTorch:\n got %v\nwant %v", got, c.Output)
					if c.Fragile {
						t.Skipf("near-tie in the reference (fragile); %s", msg)
					}
					if why, ok := fastDiffers[c.Name]; ok && r.fast && len(got) == len(c.Output) && tokensDiffering(got, c.Output) == 1 {
						t.Skipf("listed fast-path difference (%s): %s", why, msg)
					}
					t.Fatal(msg)
				}
				t.Logf("%d tokens, %d forwards (reference, without cache: %d)", len(got), forwards, c.Forwards)
			})
		}
	}
}

// tokensDiffering counts the positions where equal-length a and b differ.
func tokensDiffering(a, b []int32) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
