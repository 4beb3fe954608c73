package model_test

import (
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/model"
	_ "dlmstream/engine/model/qwen" // registers the Qwen family
)

const qwenText = `"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
	"intermediate_size": 128, "vocab_size": 416`

// Qwen2.5-VL configs as transformers writes them (text_config with
// rope_parameters, >= 5) and as the Hub stores older checkpoints (flat,
// rope_scaling of type "mrope"): the language model, its M-RoPE sections,
// its architecture (block-diffusion fields -> Fast-dLLM v2) and
// Qwen2_5_VLTextConfig's defaults.
func TestParseQwen25VLConfig(t *testing.T) {
	tests := []struct {
		name, body string
		modelType  string
		block      int
		theta, eps float64
	}{
		{"text_config, rope_parameters, block fields inside",
			`{"model_type": "qwen2_5_vl", "vision_config": {"depth": 4}, "text_config": {"model_type": "qwen2_5_vl_text", ` + qwenText + `,
			"bd_size": 4, "block_size": 4, "mask_token_id": 3, "rms_norm_eps": 1e-6,
			"rope_parameters": {"mrope_section": [2, 3, 3], "rope_theta": 1000000.0, "rope_type": "default"}}}`,
			"Fast_dLLM_Qwen", 4, 1e6, 1e-6},
		{"text_config, block fields only outside",
			`{"model_type": "qwen2_5_vl", "bd_size": 8, "text_config": {"model_type": "qwen2_5_vl_text", ` + qwenText + `,
			"rope_parameters": {"mrope_section": [2, 3, 3], "rope_type": "default"}}}`,
			"Fast_dLLM_Qwen", 8, 1e6, 1e-5},
		{"flat layout, rope_scaling type mrope",
			`{"model_type": "qwen2_5_vl", ` + qwenText + `, "rope_theta": 500000.0, "bd_size": 4, "mask_token_id": 3,
			"rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}, "vision_config": {"depth": 4}}`,
			"Fast_dLLM_Qwen", 4, 5e5, 1e-5},
		{"flat layout, no block fields: the autoregressive Qwen2.5-VL",
			`{"model_type": "qwen2_5_vl", ` + qwenText + `, "rms_norm_eps": 1e-6, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}}`,
			"qwen2_5_vl_text", 0, 1e6, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := model.ParseConfig("config.json", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.Composite != "qwen2_5_vl" || c.ModelType != tt.modelType || c.BlockSize != tt.block ||
				!slices.Equal(c.MRopeSection, []int{2, 3, 3}) || c.RopeTheta != tt.theta || c.RMSNormEps != tt.eps || !*c.AttentionBias {
				t.Errorf("got composite %q, model_type %q, block %d, mrope_section %v, theta %g, eps %g, bias %v",
					c.Composite, c.ModelType, c.BlockSize, c.MRopeSection, c.RopeTheta, c.RMSNormEps, *c.AttentionBias)
			}
		})
	}
}

func TestParseMRopeErrors(t *testing.T) {
	for _, tt := range []struct{ name, section, want string }{
		{"sum", "[2, 3, 4]", "summing to head_dim/2 = 8"},
		{"two sections", "[4, 4]", "want three sections"},
		{"not integers", `[2.5, 2.5, 3]`, "non-negative integers"},
		{"negative", "[-1, 5, 4]", "non-negative integers"},
		{"not a list", `"2,3,3"`, "want three sections"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model_type": "qwen2_5_vl_text", ` + qwenText + `, "rope_parameters": {"mrope_section": ` + tt.section + `}}`
			_, err := model.ParseConfig("config.json", []byte(body))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "config.json") {
				t.Fatalf("err = %v, want one naming config.json and %q", err, tt.want)
			}
		})
	}
}
