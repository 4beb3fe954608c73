package qwen

import "dlmstream/engine/model"

// LLaDA (GSAI-ML/LLaDA-8B, model_type "llada") is a LLaMA-style network
// trained from scratch as a masked diffusion model: the Qwen layer without
// q/k/v biases (unless include_qkv_bias) or QK norms, fully bidirectional,
// unshifted (row i predicts the token at i), RoPE at d_model / n_heads, an
// untied head unless weight_tying. model.ParseConfig reads LLaDA's own
// config keys; the names below are its modeling_llada.py modules under
// LLaDAModelLM's "model." prefix (dllm-engine-spec.md sections 1, 2, 6).
func init() {
	model.Register("llada", model.Arch{DefaultBias: false, New: newLLaDA})
}

// lladaNames are modeling_llada.py's LLaDALlamaBlock names: ff_proj is
// the SwiGLU gate, up_proj its up projection, ff_out the down projection;
// transformer.ff_out is the LM head.
var lladaNames = &tensorNames{
	embed: "model.transformer.wte.weight", norm: "model.transformer.ln_f.weight", head: "model.transformer.ff_out.weight",
	layer:     "model.transformer.blocks.%d.",
	inputNorm: "attn_norm.weight", q: "q_proj", k: "k_proj", v: "v_proj",
	o: "attn_out.weight", postNorm: "ff_norm.weight",
	gate: "ff_proj.weight", up: "up_proj.weight", down: "ff_out.weight",
	tieByConfig: true,
}

func newLLaDA(cfg *model.Config, w *model.Weights, _ model.LoadOptions) (model.Model, error) {
	m := newModel(cfg, false, false, true)
	m.weights = w
	if err := m.loadNamed(w, lladaNames); err != nil {
		return nil, err
	}
	return m, nil
}
