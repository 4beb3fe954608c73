package model

import (
	"encoding/json"
	"fmt"
)

// LLaDAMaskTokenID is LLaDA's mask token, <|mdm_mask|> (GSAI-ML/LLaDA-8B:
// mask_token_id 126336 of 126464 embeddings). A llada config.json without
// mask_token_id gets it when it lies inside the vocabulary: the default of
// LLaDA's configuration_llada.py (50256) is a leftover of OLMo's GPT-2
// vocabulary that no LLaDA checkpoint uses.
const LLaDAMaskTokenID = 126336

// lladaFields are the keys of LLaDA's configuration_llada.py (an OLMo-style
// ModelConfig) the engine reads; a nil field is absent and takes that
// file's default, as LLaDAConfig does.
type lladaFields struct {
	DModel         *int     `json:"d_model"`         // 768
	NHeads         *int     `json:"n_heads"`         // 12
	NKVHeads       *int     `json:"n_kv_heads"`      // n_heads
	NLayers        *int     `json:"n_layers"`        // 12
	MLPRatio       *int     `json:"mlp_ratio"`       // 4
	MLPHiddenSize  *int     `json:"mlp_hidden_size"` // mlp_ratio * d_model
	ActivationType *string  `json:"activation_type"` // "swiglu"
	BlockType      *string  `json:"block_type"`      // "sequential"
	BlockGroupSize *int     `json:"block_group_size"`
	Alibi          *bool    `json:"alibi"`
	Rope           *bool    `json:"rope"` // false
	MultiQuery     *bool    `json:"multi_query_attention"`
	AttnLayerNorm  *bool    `json:"attention_layer_norm"`
	InputEmbNorm   *bool    `json:"input_emb_norm"`
	LayerNormType  *string  `json:"layer_norm_type"`        // "default"
	NormAffine     *bool    `json:"layer_norm_with_affine"` // true
	RMSNormEps     *float64 `json:"rms_norm_eps"`           // 1e-5
	MaxSeqLen      *int     `json:"max_sequence_length"`    // 1024
	RopeTheta      *float64 `json:"rope_theta"`             // 10000
	IncludeQKVBias *bool    `json:"include_qkv_bias"`
	IncludeBias    *bool    `json:"include_bias"`
	NormBias       *bool    `json:"bias_for_layer_norm"` // include_bias
	ScaleLogits    *bool    `json:"scale_logits"`
	VocabSize      *int     `json:"vocab_size"`     // 50257
	EmbeddingSize  *int     `json:"embedding_size"` // 50304 when absent, vocab_size when null
	WeightTying    *bool    `json:"weight_tying"`   // true
	MaskTokenID    *int     `json:"mask_token_id"`
}

// lladaConfig rewrites a LLaDA config.json body (model_type "llada") into
// the transformers keys Config reads, after checking that it describes the
// network LLaDA's modeling_llada.py builds for LLaDA-8B and the engine
// runs: the "llama" block (q/k/v_proj, attn_out, SwiGLU ff_proj/up_proj/
// ff_out), RMSNorm with weights and no biases, RoPE, silu, no QK norm,
// input scaling or logit scaling, and no linear biases except optionally
// q/k/v (include_qkv_bias). The LM head has embedding_size rows (the
// vocabulary the logits cover); head_dim is d_model / n_heads.
func lladaConfig(b []byte) ([]byte, error) {
	var f lladaFields
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		key       string
		got, want string
	}{
		{"block_type", orStr(f.BlockType, "sequential"), "llama"},
		{"activation_type", orStr(f.ActivationType, "swiglu"), "silu"},
		{"layer_norm_type", orStr(f.LayerNormType, "default"), "rms"},
	} {
		if c.got != c.want {
			return nil, fmt.Errorf("llada: %s %q is not supported (only %q, as LLaDA-8B)", c.key, c.got, c.want)
		}
	}
	includeBias := orBool(f.IncludeBias, false)
	for _, c := range []struct {
		key       string
		got, want bool
	}{
		{"rope", orBool(f.Rope, false), true},
		{"alibi", orBool(f.Alibi, false), false},
		{"attention_layer_norm", orBool(f.AttnLayerNorm, false), false},
		{"input_emb_norm", orBool(f.InputEmbNorm, false), false},
		{"scale_logits", orBool(f.ScaleLogits, false), false},
		{"include_bias", includeBias, false},
		{"bias_for_layer_norm", orBool(f.NormBias, includeBias), false},
		{"layer_norm_with_affine", orBool(f.NormAffine, true), true},
	} {
		if c.got != c.want {
			return nil, fmt.Errorf("llada: %s %v is not supported (only %v, as LLaDA-8B)", c.key, c.got, c.want)
		}
	}
	if g := orInt(f.BlockGroupSize, 1); g != 1 {
		return nil, fmt.Errorf("llada: block_group_size %d is not supported (only 1: tensors under transformer.blocks)", g)
	}
	d, heads, layers := orInt(f.DModel, 768), orInt(f.NHeads, 12), orInt(f.NLayers, 12)
	if heads <= 0 || d%heads != 0 {
		return nil, fmt.Errorf("llada: d_model %d is not a multiple of n_heads %d", d, heads)
	}
	kv, err := lladaKVHeads(f, heads)
	if err != nil {
		return nil, err
	}
	vocab := orInt(f.VocabSize, 50257)
	rows := 50304 // ModelConfig's embedding_size when the key is absent
	if _, ok := raw["embedding_size"]; ok {
		rows = orInt(f.EmbeddingSize, vocab)
	}
	if rows < vocab {
		return nil, fmt.Errorf("llada: embedding_size %d is smaller than vocab_size %d", rows, vocab)
	}
	mlp := orInt(f.MLPRatio, 4) * d
	if f.MLPHiddenSize != nil {
		mlp = *f.MLPHiddenSize
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	for _, k := range []string{"vocab_size", "rms_norm_eps", "rope_theta", "mask_token_id"} {
		delete(out, k) // rewritten below; LLaDA's other keys are ignored
	}
	out["hidden_size"], out["num_hidden_layers"], out["num_attention_heads"] = d, layers, heads
	out["num_key_value_heads"], out["head_dim"], out["intermediate_size"] = kv, d/heads, mlp
	out["vocab_size"] = rows
	out["rms_norm_eps"] = orFloat(f.RMSNormEps, 1e-5)
	out["rope_theta"] = orFloat(f.RopeTheta, 10000)
	out["max_position_embeddings"] = orInt(f.MaxSeqLen, 1024)
	out["tie_word_embeddings"] = orBool(f.WeightTying, true)
	out["attention_bias"] = orBool(f.IncludeQKVBias, false)
	out["hidden_act"] = "silu"
	switch {
	case f.MaskTokenID != nil:
		out["mask_token_id"] = *f.MaskTokenID
	case LLaDAMaskTokenID < rows:
		out["mask_token_id"] = LLaDAMaskTokenID
	}
	return json.Marshal(out)
}

// lladaKVHeads is configuration_llada.py's effective_n_kv_heads.
func lladaKVHeads(f lladaFields, heads int) (int, error) {
	if f.MultiQuery == nil {
		return orInt(f.NKVHeads, heads), nil
	}
	want := heads
	if *f.MultiQuery {
		want = 1
	}
	if f.NKVHeads != nil && *f.NKVHeads != want {
		return 0, fmt.Errorf("llada: multi_query_attention %v and n_kv_heads %d disagree", *f.MultiQuery, *f.NKVHeads)
	}
	return want, nil
}

func orInt(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

func orBool(p *bool, d bool) bool {
	if p == nil {
		return d
	}
	return *p
}

func orStr(p *string, d string) string {
	if p == nil {
		return d
	}
	return *p
}

func orFloat(p *float64, d float64) float64 {
	if p == nil {
		return d
	}
	return *p
}
