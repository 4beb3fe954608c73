package qwen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/model/safetensors"
	"dlmstream/kernels/cpu"
)

// flattenQwen25VL rewrites a copy of tiny-qwen25vl in the layout the Hub
// keeps for checkpoints saved before transformers 4.52: the language
// model's fields at the top of config.json with rope_scaling {"type":
// "mrope"}, tensors at model.*, visual.*, lm_head.*. keepDiffusion false
// also drops the block-diffusion fields (a stock Qwen2.5-VL).
func flattenQwen25VL(t *testing.T, keepDiffusion bool) string {
	t.Helper()
	dir := copyCheckpoint(t, "tiny-qwen25vl")
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	text := c["text_config"].(map[string]any)
	delete(c, "text_config")
	for k, v := range text {
		if k != "model_type" {
			c[k] = v
		}
	}
	rp := c["rope_parameters"].(map[string]any)
	delete(c, "rope_parameters")
	c["rope_theta"] = rp["rope_theta"]
	c["rope_scaling"] = map[string]any{"type": "mrope", "mrope_section": rp["mrope_section"]}
	if !keepDiffusion {
		for _, k := range []string{"bd_size", "block_size", "mask_token_id"} {
			delete(c, k)
		}
	}
	b, _ = json.Marshal(c)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rewrite(t, dir, func(ts map[string]safetensors.Tensor) {
		for n, x := range ts {
			var to string
			switch {
			case strings.HasPrefix(n, "model.language_model."):
				to = "model." + strings.TrimPrefix(n, "model.language_model.")
			case strings.HasPrefix(n, "model.visual."):
				to = "visual." + strings.TrimPrefix(n, "model.visual.")
			default:
				continue
			}
			delete(ts, n)
			ts[to] = x
		}
	})
	return dir
}

// Qwen2.5-VL checkpoints load their language model: Fast-dVLM-style ones
// (block-diffusion fields) as Fast-dLLM v2 with Qwen2.5's q/k/v biases, no
// q/k norm, M-RoPE; the flat pre-4.52 layout gives the same model bit for
// bit; a stock Qwen2.5-VL loads as an autoregressive qwen2_5_vl_text.
func TestLoadQwen25VL(t *testing.T) {
	ref, err := model.Load(filepath.Join("..", "..", "..", "testdata", "models", "tiny-qwen25vl"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	V := ref.Config().VocabSize
	toks := randTokens(3, 14, V)
	rope := imagePositions(14, 3, 3, 2)
	logits := func(m model.Model, mask cpu.Mask) []float32 {
		s := model.Seq{Tokens: toks, Mask: mask, Rope: rope, LogitRows: allRows(len(toks)), Logits: make([]float32, len(toks)*V)}
		if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
			t.Fatal(err)
		}
		return s.Logits
	}
	blockCausal := cpu.Mask{Kind: cpu.BlockCausal, Block: 4}
	want := logits(ref, blockCausal)
	wantCausal := logits(ref, cpu.Mask{Kind: cpu.Causal})
	tests := []struct {
		name      string
		dir       func(t *testing.T) string
		modelType string
		traits    model.Traits
	}{
		{"text_config layout", func(*testing.T) string {
			return filepath.Join("..", "..", "..", "testdata", "models", "tiny-qwen25vl")
		}, "Fast_dLLM_Qwen", model.Traits{Shifted: true, Mask: blockCausal, Diffusion: true}},
		{"flat layout", func(t *testing.T) string { return flattenQwen25VL(t, true) },
			"Fast_dLLM_Qwen", model.Traits{Shifted: true, Mask: blockCausal, Diffusion: true}},
		{"flat layout, stock Qwen2.5-VL", func(t *testing.T) string { return flattenQwen25VL(t, false) },
			"qwen2_5_vl_text", model.Traits{Mask: cpu.Mask{Kind: cpu.Causal}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := model.Load(tt.dir(t), model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			c, q := m.Config(), m.(*Model)
			if c.Composite != "qwen2_5_vl" || c.ModelType != tt.modelType || !slices.Equal(c.MRopeSection, []int{2, 3, 3}) || c.RopeTheta != 1e6 {
				t.Errorf("config: composite %q, model_type %q, mrope_section %v, theta %g", c.Composite, c.ModelType, c.MRopeSection, c.RopeTheta)
			}
			if m.Traits() != tt.traits {
				t.Errorf("traits %+v, want %+v", m.Traits(), tt.traits)
			}
			if l := q.Layers[0]; l.QBias == nil || l.QNorm != nil || q.LMHead == q.Embed {
				t.Error("want q/k/v biases, no q/k norm, an untied head")
			}
			w := want
			if tt.traits.Mask.Kind == cpu.Causal {
				w = wantCausal
			}
			if got := logits(m, tt.traits.Mask); !slices.Equal(got, w) {
				t.Errorf("logits differ from the text_config layout's by %g", maxAbsDiff(got, w))
			}
		})
	}
}
