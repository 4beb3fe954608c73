package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Config is the subset of a Hugging Face config.json the engine reads, with
// the diffusion fields of SDAR (block_size, mask_token_id) and Fast-dLLM v2
// (bd_size) folded into BlockSize and MaskTokenID. LLaDA's config.json
// (model_type "llada": d_model, n_layers, ...) is read into the same fields
// (lladaConfig).
type Config struct {
	ModelType             string   `json:"model_type"`
	Architectures         []string `json:"architectures"`
	HiddenSize            int      `json:"hidden_size"`
	NumLayers             int      `json:"num_hidden_layers"`
	NumHeads              int      `json:"num_attention_heads"`
	NumKVHeads            int      `json:"num_key_value_heads"`
	HeadDim               int      `json:"head_dim"`
	IntermediateSize      int      `json:"intermediate_size"`
	VocabSize             int      `json:"vocab_size"`
	RMSNormEps            float64  `json:"rms_norm_eps"`
	RopeTheta             float64  `json:"rope_theta"`
	MaxPositionEmbeddings int      `json:"max_position_embeddings"`
	TieWordEmbeddings     bool     `json:"tie_word_embeddings"`
	AttentionBias         *bool    `json:"attention_bias"`
	UseSlidingWindow      bool     `json:"use_sliding_window"`
	TorchDType            string   `json:"torch_dtype"`
	HiddenAct             string   `json:"hidden_act"`

	BlockSize   int  `json:"block_size"` // SDAR
	BDSize      int  `json:"bd_size"`    // Fast-dLLM v2
	MaskTokenID *int `json:"mask_token_id"`

	BOSTokenID *int      `json:"bos_token_id"`
	EOSTokenID tokenList `json:"eos_token_id"`

	RopeScaling map[string]any `json:"rope_scaling"`
	// RopeParameters is the transformers >= 5 spelling of rope_theta and
	// rope_scaling ({"rope_theta": ..., "rope_type": "default"}).
	RopeParameters map[string]any `json:"rope_parameters"`
	LayerTypes     []string       `json:"layer_types"`
	// MRopeSection splits the rotary frequency pairs [head_dim/2] between the
	// temporal, height and width position ids (multimodal RoPE, Qwen2.5-VL:
	// mrope_section of rope_scaling, or of rope_parameters as transformers >= 5
	// writes it, e.g. [16, 24, 24]); nil for 1-D RoPE.
	MRopeSection []int `json:"-"`

	// Path is the config.json this was read from (for error messages).
	Path string `json:"-"`
	// Composite is the outer model_type of a multimodal checkpoint whose
	// language model is nested in text_config (dlm_asr, llava_onevision,
	// qwen2_5_vl); empty for a plain language model. Raw is then the whole
	// config.json, for the encoders' own loaders.
	Composite string          `json:"-"`
	Raw       json.RawMessage `json:"-"`
}

// tokenList accepts a single id or a list of ids, as generation configs do;
// null is no ids (not id 0).
type tokenList []int

func (t *tokenList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = nil
		return nil
	}
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*t = tokenList{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("token id must be an integer or a list of integers, got %s", b)
	}
	*t = many
	return nil
}

// GenerationConfig is the part of generation_config.json the engine reads.
type GenerationConfig struct {
	EOSTokenID  tokenList `json:"eos_token_id"`
	PadTokenID  *int      `json:"pad_token_id"`
	BOSTokenID  *int      `json:"bos_token_id"`
	Temperature *float64  `json:"temperature"`
	TopK        *int      `json:"top_k"`
	TopP        *float64  `json:"top_p"`
}

// LoadConfig reads and validates dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	p := filepath.Join(dir, "config.json")
	b, err := readBounded(p, MaxConfigBytes)
	if err != nil {
		return nil, err
	}
	return ParseConfig(p, b)
}

// ParseConfig decodes a config.json body; path is used in errors.
//
// A multimodal checkpoint (speech or vision encoder + projector + language
// model in one directory) nests the language model's config in
// text_config, as transformers' composite configs do; ParseConfig then
// returns the language model's config with Composite set to the outer
// model_type.
func ParseConfig(path string, b []byte) (*Config, error) { return parseConfig(path, b, false) }

// parseConfig is ParseConfig; nested is set for a text_config, which may
// not itself nest one (no checkpoint does, and each level re-encodes the
// body, so a deep nesting would cost time quadratic in its depth).
func parseConfig(path string, b []byte, nested bool) (*Config, error) {
	var outer struct {
		ModelType  string          `json:"model_type"`
		TextConfig json.RawMessage `json:"text_config"`
	}
	if err := json.Unmarshal(b, &outer); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if (len(outer.TextConfig) == 0 || string(outer.TextConfig) == "null") && outer.ModelType == "qwen2_5_vl" {
		// Qwen2.5-VL as the Hub stores it before transformers 4.52 (Qwen2.5-VL-3B and the
		// checkpoints converted from it): the language model's fields at the top level.
		outer.TextConfig = b
	}
	if len(outer.TextConfig) > 0 && string(outer.TextConfig) != "null" {
		if nested {
			return nil, fmt.Errorf("%s: a text_config inside text_config is not supported", path)
		}
		inner, err := textConfig(b, outer.TextConfig)
		if err != nil {
			return nil, fmt.Errorf("%s: text_config: %v", path, err)
		}
		c, err := parseConfig(path+" text_config", inner, true)
		if err != nil {
			return nil, err
		}
		c.Path, c.Composite, c.Raw = path, outer.ModelType, append(json.RawMessage(nil), b...)
		if c.Composite == "" {
			return nil, fmt.Errorf("%s: no model_type", path)
		}
		return c, nil
	}
	if outer.ModelType == "llada" { // LLaDA's own keys (d_model, n_layers, ...)
		lb, err := lladaConfig(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		b = lb
	}
	c := &Config{Path: path}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if c.ModelType == "" {
		return nil, fmt.Errorf("%s: no model_type", path)
	}
	arch, ok := lookupArch(c.ModelType)
	if !ok {
		return nil, fmt.Errorf("%s: unknown architecture model_type %q (supported: %s)", path, c.ModelType, archNames())
	}
	var given explicitFields
	if err := json.Unmarshal(b, &given); err != nil { // decoding c succeeded, so this cannot fail
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := c.fillDefaults(&given); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if c.BlockSize == 0 {
		c.BlockSize = c.BDSize
	}
	if c.AttentionBias == nil {
		b := arch.DefaultBias
		c.AttentionBias = &b
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := c.parseMRope(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if c.HiddenAct != "" && c.HiddenAct != "silu" {
		return nil, fmt.Errorf("%s: hidden_act %q is not supported (only silu)", path, c.HiddenAct)
	}
	if c.UseSlidingWindow {
		return nil, fmt.Errorf("%s: use_sliding_window true is not supported", path)
	}
	for field, rs := range map[string]map[string]any{"rope_scaling": c.RopeScaling, "rope_parameters": c.RopeParameters} {
		if len(rs) == 0 {
			continue
		}
		kind, _ := rs["rope_type"].(string)
		if kind == "" {
			kind, _ = rs["type"].(string)
		}
		if kind == "mrope" && c.MRopeSection != nil { // the pre-transformers-5 spelling
			kind = "default"
		}
		if kind != "default" && !(kind == "" && field == "rope_parameters") {
			return nil, fmt.Errorf("%s: %s type %q is not supported (only default RoPE)", path, field, kind)
		}
	}
	for i, lt := range c.LayerTypes {
		if lt != "full_attention" {
			return nil, fmt.Errorf("%s: layer_types[%d] = %q is not supported (only full_attention)", path, i, lt)
		}
	}
	return c, nil
}

// LoadGenerationConfig reads dir/generation_config.json; a missing file gives
// an empty config.
func LoadGenerationConfig(dir string) (*GenerationConfig, error) {
	p := filepath.Join(dir, "generation_config.json")
	b, err := readBounded(p, MaxConfigBytes)
	if os.IsNotExist(err) {
		return &GenerationConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	g := &GenerationConfig{}
	if err := json.Unmarshal(b, g); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return g, nil
}

// explicitFields are the config.json fields whose absence means "use the
// default" while an explicit value must be valid: an explicit 0 is refused,
// not replaced by the default.
type explicitFields struct {
	NumKVHeads *int     `json:"num_key_value_heads"`
	HeadDim    *int     `json:"head_dim"`
	RopeTheta  *float64 `json:"rope_theta"`
	RMSNormEps *float64 `json:"rms_norm_eps"`
}

// fillDefaults sets the fields config.json left out (or set to null) as
// transformers does: one KV head per attention head, head_dim =
// hidden_size / num_attention_heads (which must then divide evenly),
// rope_theta from rope_parameters (or, failing that, rope_scaling) or
// 10000, rms_norm_eps 1e-6. Explicit values are kept for Validate to check.
func (c *Config) fillDefaults(given *explicitFields) error {
	if c.NumHeads <= 0 {
		return fmt.Errorf("num_attention_heads must be positive, got %d", c.NumHeads)
	}
	if given.NumKVHeads == nil {
		c.NumKVHeads = c.NumHeads
	} else if c.NumKVHeads <= 0 {
		return fmt.Errorf("num_key_value_heads must be positive, got %d (leave it out for one KV head per attention head)", c.NumKVHeads)
	}
	if given.HeadDim == nil {
		if c.HiddenSize%c.NumHeads != 0 {
			return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d, and no head_dim is given", c.HiddenSize, c.NumHeads)
		}
		c.HeadDim = c.HiddenSize / c.NumHeads
	}
	if given.RopeTheta == nil {
		c.RopeTheta = 10000
		for _, rp := range []struct {
			field string
			m     map[string]any
		}{{"rope_parameters", c.RopeParameters}, {"rope_scaling", c.RopeScaling}} {
			v := rp.m["rope_theta"]
			if v == nil {
				continue
			}
			th, ok := v.(float64)
			if !ok {
				return fmt.Errorf("%s.rope_theta must be a number, got %v", rp.field, v)
			}
			c.RopeTheta = th
			break
		}
	}
	if given.RMSNormEps == nil {
		c.RMSNormEps = 1e-6
	}
	return nil
}

// KVDim is the width of one position's keys (or values) in the KV cache.
func (c *Config) KVDim() int { return c.NumKVHeads * c.HeadDim }

// parseMRope reads mrope_section from rope_scaling or rope_parameters (the
// former first, as transformers does) and checks that it splits the
// head's frequency pairs.
func (c *Config) parseMRope() error {
	for _, rs := range []map[string]any{c.RopeScaling, c.RopeParameters} {
		v, ok := rs["mrope_section"]
		if !ok {
			continue
		}
		list, _ := v.([]any)
		if len(list) != 3 {
			return fmt.Errorf("mrope_section %v: want three sections (temporal, height, width) summing to head_dim/2 = %d", v, c.HeadDim/2)
		}
		sum := 0
		for _, x := range list {
			f, ok := x.(float64)
			if !ok || f < 0 || f > MaxHeadDim || f != math.Trunc(f) {
				return fmt.Errorf("mrope_section %v: want three non-negative integers", v)
			}
			c.MRopeSection = append(c.MRopeSection, int(f))
			sum += int(f)
		}
		if len(list) != 3 || sum != c.HeadDim/2 {
			return fmt.Errorf("mrope_section %v: want three sections (temporal, height, width) summing to head_dim/2 = %d", v, c.HeadDim/2)
		}
		return nil
	}
	return nil
}

// textConfig is the language model's config of a composite checkpoint
// (outer config.json body, its text_config, or the body itself for the flat
// Qwen2.5-VL layout). Block-diffusion fields that only the outer config
// holds (mask_token_id, block_size, bd_size) are copied in, and
// diffusionTextConfig picks the architecture.
func textConfig(outer, inner json.RawMessage) (json.RawMessage, error) {
	var o, m map[string]any
	if err := json.Unmarshal(outer, &o); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(inner, &m); err != nil {
		return nil, err
	}
	if m["model_type"] == "qwen2_5_vl" { // the flat layout: the outer body itself
		m["model_type"] = "qwen2_5_vl_text"
		delete(m, "vision_config")
	}
	for _, k := range []string{"mask_token_id", "block_size", "bd_size"} {
		if _, ok := m[k]; !ok && o[k] != nil {
			m[k] = o[k]
		}
	}
	if m["model_type"] == "qwen2_5_vl_text" {
		// Qwen2_5_VLTextConfig's defaults, where they differ from ours.
		if _, ok := m["rms_norm_eps"]; !ok {
			m["rms_norm_eps"] = 1e-5
		}
		_, th := m["rope_theta"]
		for _, k := range []string{"rope_scaling", "rope_parameters"} {
			if rp, ok := m[k].(map[string]any); ok && rp["rope_theta"] != nil {
				th = true
			}
		}
		if !th {
			m["rope_theta"] = 1e6
		}
	}
	diffusionTextConfig(m)
	return json.Marshal(m)
}

// diffusionTextConfig renames the model_type of a composite checkpoint's
// text_config that carries block-diffusion fields: transformers' composite
// classes only take stock text configs, so block-diffusion language models
// inside them (SDAR-VL, demo-vision; Fast-dVLM / DiffusionVL) are written
// as qwen3 or qwen2 / qwen2_5_vl_text configs with block_size (bd_size) and
// mask_token_id, and run as SDAR or Fast-dLLM v2. Fast-dLLM v2's own
// spelling, bd_size with the mask token left to the tokenizer, is enough
// for the Qwen2 family.
func diffusionTextConfig(m map[string]any) {
	_, hasMask := m["mask_token_id"]
	_, hasBlock := m["block_size"]
	_, hasBD := m["bd_size"]
	switch m["model_type"] {
	case "qwen3":
		if hasMask && (hasBlock || hasBD) {
			m["model_type"] = "sdar"
		}
	case "qwen2", "qwen2_5_vl_text", "qwen2_5_vl":
		if hasBD || (hasMask && hasBlock) {
			m["model_type"] = "Fast_dLLM_Qwen"
		}
	}
}
