package model

import (
	"fmt"
	"math"
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

// Values that are absent (or null) take transformers' defaults; explicit
// valid values are kept, including a head_dim that does not divide
// hidden_size (Qwen3-0.6B: 16 heads of 128 on hidden_size 1024).
func TestParseConfigDefaults(t *testing.T) {
	tests := []struct {
		name, body  string
		kv, headDim int
		theta, eps  float64
		eos         []int
	}{
		{"all absent", `{` + baseConfig + `}`, 4, 16, 10000, 1e-6, nil},
		{"nulls", with("num_key_value_heads", "null", "head_dim", "null", "rope_theta", "null", "rms_norm_eps", "null", "eos_token_id", "null"), 4, 16, 10000, 1e-6, nil},
		{"explicit", with("num_key_value_heads", "2", "head_dim", "32", "rope_theta", "1e6", "rms_norm_eps", "1e-5", "eos_token_id", "3"), 2, 32, 1e6, 1e-5, []int{3}},
		{"head_dim with heads not dividing hidden", with("num_attention_heads", "6", "num_key_value_heads", "2", "head_dim", "16"), 2, 16, 10000, 1e-6, nil},
		{"rope_theta in rope_scaling", with("rope_scaling", `{"rope_type": "default", "rope_theta": 5e5}`), 4, 16, 5e5, 1e-6, nil},
		{"rope_parameters before rope_scaling", with("rope_scaling", `{"rope_type": "default", "rope_theta": 5e5}`, "rope_parameters", `{"rope_type": "default", "rope_theta": 2e4}`), 4, 16, 2e4, 1e-6, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("config.json", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.NumKVHeads != tt.kv || c.HeadDim != tt.headDim || c.RopeTheta != tt.theta || c.RMSNormEps != tt.eps || fmt.Sprint(c.EOSTokenID) != fmt.Sprint(tt.eos) {
				t.Errorf("kv %d head_dim %d theta %v eps %v eos %v, want %d %d %v %v %v", c.NumKVHeads, c.HeadDim, c.RopeTheta, c.RMSNormEps, c.EOSTokenID, tt.kv, tt.headDim, tt.theta, tt.eps, tt.eos)
			}
		})
	}
}

// Validate refuses what JSON cannot spell but a Config built in code can.
func TestValidate(t *testing.T) {
	good := func() *Config {
		c, err := ParseConfig("config.json", []byte(`{`+baseConfig+`}`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"NaN rope_theta", func(c *Config) { c.RopeTheta = math.NaN() }, "rope_theta must be positive and finite, got NaN"},
		{"Inf rope_theta", func(c *Config) { c.RopeTheta = math.Inf(1) }, "rope_theta must be positive and finite, got +Inf"},
		{"NaN rms_norm_eps", func(c *Config) { c.RMSNormEps = math.NaN() }, "rms_norm_eps must be in (0, 1], got NaN"},
		{"Inf rms_norm_eps", func(c *Config) { c.RMSNormEps = math.Inf(1) }, "rms_norm_eps must be in (0, 1], got +Inf"},
		{"zero kv heads", func(c *Config) { c.NumKVHeads = 0 }, "num_key_value_heads must be positive, got 0"},
		{"odd head_dim", func(c *Config) { c.HeadDim = 3 }, "head_dim 3 must be even"},
		{"huge layers", func(c *Config) { c.NumLayers = math.MaxInt }, "exceeds the limit of 1024"},
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// DecoderParams is exact for a small config, and reports overflow and
// negative sizes instead of wrapping.
func TestDecoderParams(t *testing.T) {
	c, err := ParseConfig("config.json", []byte(with("attention_bias", "false")))
	if err != nil {
		t.Fatal(err)
	}
	// embed 100*64; per layer q,o 2*64*64, k,v 2*64*64, mlp 3*128*64, norms 2*64; final norm 64.
	want := int64(100*64 + 2*(2*64*64+2*64*64+3*128*64+2*64) + 64)
	if n, err := c.DecoderParams(); err != nil || n != want {
		t.Errorf("DecoderParams = %d, %v; want %d", n, err, want)
	}
	c.AttentionBias = nil
	big := *c
	big.NumLayers, big.HiddenSize, big.IntermediateSize = math.MaxInt64/2, math.MaxInt64/2, 3
	if _, err := big.DecoderParams(); err == nil || !strings.Contains(err.Error(), "overflows 64 bits") {
		t.Errorf("overflow: err = %v", err)
	}
	neg := *c
	neg.VocabSize = -1
	if _, err := neg.DecoderParams(); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("negative: err = %v", err)
	}
}

// with sets fields of baseConfig (replacing or adding them) in a config
// body: with("vocab_size", "7", "head_dim", "8").
func with(fieldValues ...string) string {
	body := `{` + baseConfig + `}`
	for k := 0; k+1 < len(fieldValues); k += 2 {
		field, value := fieldValues[k], fieldValues[k+1]
		if i := strings.Index(body, `"`+field+`":`); i >= 0 {
			j := i + strings.IndexAny(body[i:], ",}")
			body = body[:i] + `"` + field + `": ` + value + body[j:]
			continue
		}
		body = body[:len(body)-1] + `, "` + field + `": ` + value + `}`
	}
	return body
}

// hostileConfigs are config.json bodies that must be refused before any
// weight is read, each with the words its error must have.
var hostileConfigs = []struct {
	name, body, want string
}{
	{"absurd layer count", with("num_hidden_layers", "1000000000"), "num_hidden_layers 1000000000 exceeds the limit of 1024"},
	{"absurd vocab", with("vocab_size", "1099511627776"), "vocab_size 1099511627776 exceeds the limit of 4194304"},
	{"absurd hidden size", with("hidden_size", "1073741824"), "hidden_size 1073741824 exceeds the limit of 65536"},
	{"absurd intermediate size", with("intermediate_size", "4294967296"), "intermediate_size 4294967296 exceeds the limit of 262144"},
	{"absurd heads", with("num_attention_heads", "1048576", "head_dim", "16"), "num_attention_heads 1048576 exceeds the limit of 1024"},
	{"absurd head_dim", with("head_dim", "1048576"), "head_dim 1048576 exceeds the limit of 1024"},
	{"absurd max positions", with("max_position_embeddings", "1099511627776"), "max_position_embeddings 1099511627776 exceeds the limit of 16777216"},
	{"absurd block size", with("block_size", "1000000"), "block_size 1000000 exceeds the limit of 65536"},
	{"size beyond int", with("num_hidden_layers", "1e30"), "num_hidden_layers"},
	{"fractional size", with("hidden_size", "64.5"), "hidden_size"},
	{"negative layers", with("num_hidden_layers", "-2"), "num_hidden_layers must be positive, got -2"},
	{"negative vocab", with("vocab_size", "-1"), "vocab_size must be positive, got -1"},
	{"negative hidden", with("hidden_size", "-64"), "hidden_size must be positive, got -64"},
	{"zero intermediate", with("intermediate_size", "0"), "intermediate_size must be positive, got 0"},
	{"negative max positions", with("max_position_embeddings", "-1"), "max_position_embeddings must be at least 0, got -1"},
	{"negative block size", with("block_size", "-4"), "block_size must be at least 0, got -4"},
	{"zero heads", with("num_attention_heads", "0"), "num_attention_heads must be positive, got 0"},
	{"heads do not divide hidden", with("num_attention_heads", "5"), "hidden_size 64 is not a multiple of num_attention_heads 5, and no head_dim is given"},
	{"zero kv heads", with("num_key_value_heads", "0"), "num_key_value_heads must be positive, got 0"},
	{"negative kv heads", with("num_key_value_heads", "-2"), "num_key_value_heads must be positive, got -2"},
	{"kv heads above heads", with("num_key_value_heads", "8"), "num_attention_heads 4 is not a multiple of num_key_value_heads 8"},
	{"zero head_dim", with("head_dim", "0"), "head_dim must be positive, got 0"},
	{"zero rope_theta", with("rope_theta", "0"), "rope_theta must be positive and finite, got 0"},
	{"negative rope_theta", with("rope_theta", "-10000"), "rope_theta must be positive and finite, got -10000"},
	{"rope_theta beyond float32", with("rope_theta", "1e39"), "rope_theta must be positive and finite, got 1e+39"},
	{"rope_theta beyond float64", with("rope_theta", "1e400"), "rope_theta"},
	{"negative rope_parameters theta", with("rope_parameters", `{"rope_type": "default", "rope_theta": -1}`), "rope_theta must be positive and finite, got -1"},
	{"rope_parameters theta a string", with("rope_parameters", `{"rope_type": "default", "rope_theta": "1e4"}`), "rope_parameters.rope_theta must be a number, got 1e4"},
	{"zero rms_norm_eps", with("rms_norm_eps", "0"), "rms_norm_eps must be in (0, 1], got 0"},
	{"negative rms_norm_eps", with("rms_norm_eps", "-1e-6"), "rms_norm_eps must be in (0, 1], got -1e-06"},
	{"huge rms_norm_eps", with("rms_norm_eps", "2"), "rms_norm_eps must be in (0, 1], got 2"},
	{"mask token past the vocabulary", with("mask_token_id", "100"), "mask_token_id 100 is outside the vocabulary [0, 100)"},
	{"negative mask token", with("mask_token_id", "-1"), "mask_token_id -1 is outside the vocabulary"},
	{"negative eos", with("eos_token_id", "[2, -1]"), "eos_token_id[1] = -1 is not a token id"},
	{"eos beyond int32", with("eos_token_id", "4294967296"), "eos_token_id[0] = 4294967296 is not a token id"},
	{"negative bos", with("bos_token_id", "-3"), "bos_token_id -3 is not a token id"},
	{"mrope_section huge", with("rope_scaling", `{"rope_type": "default", "mrope_section": [1e300, 0, 0]}`), "mrope_section [1e+300 0 0]: want three non-negative integers"},
	{"nested text_config", `{"model_type": "dlm_asr", "text_config": {"model_type": "dlm_asr", "text_config": {` + baseConfig + `}}}`, "config.json text_config: a text_config inside text_config is not supported"},
	{"mrope_section too long", with("rope_scaling", `{"rope_type": "default", "mrope_section": [4, 2, 2, 0]}`), "want three sections"},
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
	tests = append(tests, hostileConfigs...)
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
