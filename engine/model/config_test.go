package model

import (
	"strings"
	"testing"
)

func init() {
	Register("test-arch", Arch{DefaultBias: true, New: func(*Config, *Weights, LoadOptions) (Model, error) { return nil, nil }})
}

const baseConfig = `"model_type": "test-arch", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
	"intermediate_size": 128, "vocab_size": 100`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("config.json", []byte(`{`+baseConfig+`, "eos_token_id": [5, 7], "rope_parameters": {"rope_theta": 5000.0, "rope_type": "default"}, "bd_size": 32}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.NumKVHeads != 4 || c.HeadDim != 16 || c.RopeTheta != 5000 || c.BlockSize != 32 || !*c.AttentionBias || c.RMSNormEps != 1e-6 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if len(c.EOSTokenID) != 2 || c.EOSTokenID[1] != 7 {
		t.Errorf("eos = %v", c.EOSTokenID)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not json", `{`, "config.json"},
		{"no model_type", `{"hidden_size": 4}`, "no model_type"},
		{"unknown architecture", `{"model_type": "rwkv9"}`, `unknown architecture model_type "rwkv9"`},
		{"zero layers", `{` + strings.Replace(baseConfig, `"num_hidden_layers": 2`, `"num_hidden_layers": 0`, 1) + `}`, "num_hidden_layers must be positive"},
		{"gqa mismatch", `{` + baseConfig + `, "num_key_value_heads": 3}`, "not a multiple of num_key_value_heads 3"},
		{"odd head_dim", `{` + baseConfig + `, "head_dim": 15}`, "head_dim 15 must be even"},
		{"activation", `{` + baseConfig + `, "hidden_act": "gelu"}`, `hidden_act "gelu"`},
		{"sliding window", `{` + baseConfig + `, "use_sliding_window": true}`, "use_sliding_window"},
		{"rope scaling", `{` + baseConfig + `, "rope_scaling": {"rope_type": "yarn", "factor": 4}}`, `rope_scaling type "yarn"`},
		{"layer types", `{` + baseConfig + `, "layer_types": ["full_attention", "sliding_attention"]}`, `layer_types[1] = "sliding_attention"`},
		{"bad eos", `{` + baseConfig + `, "eos_token_id": "x"}`, "token id must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("config.json", []byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "config.json") {
				t.Fatalf("err = %v, want one naming config.json and %q", err, tt.want)
			}
		})
	}
}

// A multimodal checkpoint's config.json nests the language model in
// text_config: ParseConfig returns that config, marked composite.
func TestParseCompositeConfig(t *testing.T) {
	c, err := ParseConfig("config.json", []byte(`{"model_type": "dlm_asr", "audio_config": {"d_model": 8}, "text_config": {`+baseConfig+`, "block_size": 4}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Composite != "dlm_asr" || c.ModelType != "test-arch" || c.BlockSize != 4 || len(c.Raw) == 0 {
		t.Errorf("composite config: %+v", c)
	}
	if _, err := ParseConfig("config.json", []byte(`{"model_type": "dlm_asr", "text_config": {"model_type": "rwkv9"}}`)); err == nil || !strings.Contains(err.Error(), "text_config") {
		t.Errorf("bad text_config: err = %v, want one naming text_config", err)
	}
}
