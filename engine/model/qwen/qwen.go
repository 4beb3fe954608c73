// Package qwen implements the Qwen2 / Qwen2.5 / Qwen3 decoder family and the
// block-diffusion checkpoints built on it: SDAR (Qwen3, unshifted,
// model_type "sdar"), Fast-dLLM v2 (Qwen2.5, shifted, "Fast_dLLM_Qwen") and
// Dream (Qwen2.5, shifted, fully bidirectional, "Dream"), and the language
// models of Qwen2.5-VL checkpoints ("qwen2_5_vl_text"; Fast-dVLM and
// DiffusionVL load as Fast-dLLM v2), whose multimodal rotary positions
// (M-RoPE, Config.MRopeSection) any member runs, and LLaDA ("llada": the
// same layer under its own tensor names, bidirectional, unshifted).
// The weights and their names are stock Hugging Face (LLaDA's are its
// remote code's); only the attention mask and the decoding rules differ
// (dllm-engine-spec.md sections 1-3, 6).
package qwen

import (
	"fmt"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

func init() {
	model.Register("qwen2", model.Arch{DefaultBias: true, New: newFamily(false, false, false)})
	// Qwen2.5-VL's language model: Qwen2.5 with M-RoPE (autoregressive).
	model.Register("qwen2_5_vl_text", model.Arch{DefaultBias: true, New: newFamily(false, false, false)})
	model.Register("qwen3", model.Arch{DefaultBias: false, New: newFamily(true, false, false)})
	model.Register("sdar", model.Arch{DefaultBias: false, New: newFamily(true, false, true)})
	model.Register("Fast_dLLM_Qwen", model.Arch{DefaultBias: true, New: newFamily(false, true, true)})
	// Dream-v0 (Dream-org): Qwen2.5 weights, fully bidirectional, shifted.
	model.Register("Dream", model.Arch{DefaultBias: true, New: newFamily(false, true, true)})
}

// Model is a loaded Qwen-family network.
type Model struct {
	cfg     *model.Config
	traits  model.Traits
	weights *model.Weights // nil for in-memory models
	arena   model.Arena    // in-memory models' weights (Random), off the Go heap

	Embed  *model.Matrix // [vocab, hidden]
	Layers []Layer
	Norm   []float32     // [hidden]
	LMHead *model.Matrix // [vocab, hidden]; == Embed when tied

	rope  *cpu.RoPE
	mrope *mrope // nil for 1-D RoPE
}

// Layer is one decoder block. Shapes: H = hidden, D = head_dim, Nq/Nkv heads, I = intermediate.
type Layer struct {
	InputNorm []float32     // [H]
	Q         *model.Matrix // [Nq*D, H]
	K         *model.Matrix // [Nkv*D, H]
	V         *model.Matrix // [Nkv*D, H]
	QBias     []float32     // [Nq*D], Qwen2 only
	KBias     []float32     // [Nkv*D]
	VBias     []float32     // [Nkv*D]
	QNorm     []float32     // [D], Qwen3 only
	KNorm     []float32     // [D]
	O         *model.Matrix // [H, Nq*D]
	PostNorm  []float32     // [H]
	Gate      *model.Matrix // [I, H]
	Up        *model.Matrix // [I, H]
	Down      *model.Matrix // [H, I]
}

func newFamily(qkNorm, shifted, diffusion bool) func(*model.Config, *model.Weights, model.LoadOptions) (model.Model, error) {
	return func(cfg *model.Config, w *model.Weights, opts model.LoadOptions) (model.Model, error) {
		m := newModel(cfg, qkNorm, shifted, diffusion)
		m.weights = w
		if err := m.load(w); err != nil {
			return nil, err
		}
		return m, nil
	}
}

func newModel(cfg *model.Config, qkNorm, shifted, diffusion bool) *Model {
	mask := cpu.Mask{Kind: cpu.Causal}
	switch {
	case cfg.ModelType == "Dream" || cfg.ModelType == "llada":
		mask = cpu.Mask{Kind: cpu.Bidirectional}
	case diffusion:
		mask = cpu.Mask{Kind: cpu.BlockCausal, Block: max(cfg.BlockSize, 1)}
	}
	m := &Model{
		cfg:    cfg,
		traits: model.Traits{QKNorm: qkNorm, Shifted: shifted, Mask: mask, Diffusion: diffusion},
		rope:   cpu.NewRoPE(cfg.HeadDim, cfg.RopeTheta),
	}
	if len(cfg.MRopeSection) == 3 {
		m.mrope = &mrope{rope: m.rope, section: [3]int(cfg.MRopeSection)}
	}
	return m
}

func (m *Model) load(w *model.Weights) error { return m.loadNamed(w, qwenNames) }

// loadNamed reads the weights under a family's tensor names.
func (m *Model) loadNamed(w *model.Weights, n *tensorNames) error {
	c := m.cfg
	H, D, I := c.HiddenSize, c.HeadDim, c.IntermediateSize
	qd, kvd := c.NumHeads*D, c.NumKVHeads*D
	var err error
	mat := func(name string, rows, cols int) *model.Matrix {
		if err != nil {
			return nil
		}
		var x *model.Matrix
		x, err = w.Matrix(name, rows, cols)
		return x
	}
	vec := func(name string, n int) []float32 {
		if err != nil {
			return nil
		}
		var x []float32
		x, err = w.Vector(name, n)
		return x
	}
	m.Embed = mat(n.embed, c.VocabSize, H)
	m.Layers = make([]Layer, c.NumLayers)
	for i := range m.Layers {
		p := fmt.Sprintf(n.layer, i)
		l := &m.Layers[i]
		l.InputNorm = vec(p+n.inputNorm, H)
		l.Q = mat(p+n.q+".weight", qd, H)
		l.K = mat(p+n.k+".weight", kvd, H)
		l.V = mat(p+n.v+".weight", kvd, H)
		if *c.AttentionBias {
			l.QBias = vec(p+n.q+".bias", qd)
			l.KBias = vec(p+n.k+".bias", kvd)
			l.VBias = vec(p+n.v+".bias", kvd)
		}
		if m.traits.QKNorm {
			l.QNorm = vec(p+"self_attn.q_norm.weight", D)
			l.KNorm = vec(p+"self_attn.k_norm.weight", D)
		}
		l.O = mat(p+n.o, H, qd)
		l.PostNorm = vec(p+n.postNorm, H)
		l.Gate = mat(p+n.gate, I, H)
		l.Up = mat(p+n.up, I, H)
		l.Down = mat(p+n.down, H, I)
	}
	m.Norm = vec(n.norm, H)
	switch {
	case n.tieByConfig && c.TieWordEmbeddings:
		m.LMHead = m.Embed // LLaDA's weight_tying: a stored head is unused
	case w.Has(n.head):
		m.LMHead = mat(n.head, c.VocabSize, H)
	case n.tieByConfig && err == nil:
		err = fmt.Errorf("%s: missing tensor %q (the config unties the LM head)", w.Dir, n.head)
	default:
		m.LMHead = m.Embed // tied (tie_word_embeddings, or lm_head absent)
	}
	return err
}

// tensorNames are a family's weight names; layer is a format taking the
// layer index, the per-layer names follow it, and q, k, v take ".weight"
// or ".bias".
type tensorNames struct {
	embed, norm, head               string
	layer                           string
	inputNorm, q, k, v, o, postNorm string
	gate, up, down                  string
	// tieByConfig: the config alone says whether the head is tied (an
	// untied one must be stored); otherwise a missing head is tied.
	tieByConfig bool
}

// qwenNames are stock transformers' Qwen2/Qwen3 names.
var qwenNames = &tensorNames{
	embed: "model.embed_tokens.weight", norm: "model.norm.weight", head: "lm_head.weight",
	layer:     "model.layers.%d.",
	inputNorm: "input_layernorm.weight", q: "self_attn.q_proj", k: "self_attn.k_proj", v: "self_attn.v_proj",
	o: "self_attn.o_proj.weight", postNorm: "post_attention_layernorm.weight",
	gate: "mlp.gate_proj.weight", up: "mlp.up_proj.weight", down: "mlp.down_proj.weight",
}

// Weights are the open checkpoint files (nil for in-memory models); a
// composite checkpoint's encoders read their tensors from Weights().Root().
func (m *Model) Weights() *model.Weights { return m.weights }

// Config returns the checkpoint's configuration.
func (m *Model) Config() *model.Config { return m.cfg }

// Traits returns the architecture's decoding traits.
func (m *Model) Traits() model.Traits { return m.traits }

// NewPool returns a KV pool shaped for this model with a byte budget (0 =
// unlimited): bf16 pages where the matmuls run on packed weights (the fast
// path, which rounds activations to bf16 as PyTorch's bf16 models do, and
// keeps K and V in bf16 as they do), fp32 pages on the exact path.
func (m *Model) NewPool(budget int64) *kvcache.Pool {
	return kvcache.NewPoolWith(kvcache.Options{Layers: m.cfg.NumLayers, KVDim: m.cfg.KVDim(), KVHeads: m.cfg.NumKVHeads, DType: m.kvType(), Budget: budget})
}

// kvType is the KV storage that goes with the model's matmul path.
func (m *Model) kvType() kvcache.DType {
	if len(m.Layers) > 0 {
		if q := m.Layers[0].Q; q != nil && (q.Packed != nil || q.PackedInt8 != nil) {
			return kvcache.BF16
		}
	}
	return kvcache.F32
}

// WeightBytes is what one forward reads: all linear layers and the LM head
// (the embedding table is only gathered from).
func (m *Model) WeightBytes() int64 {
	var n int64
	for i := range m.Layers {
		l := &m.Layers[i]
		for _, x := range []*model.Matrix{l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down} {
			n += x.Bytes()
		}
	}
	return n + m.LMHead.Bytes()
}

// Close releases the checkpoint's memory maps, or an in-memory model's
// weights (Random): the model must not be used after.
func (m *Model) Close() error {
	m.arena.Free()
	if m.weights == nil {
		return nil
	}
	return m.weights.Close()
}

// EmbedRow writes token tok's input embedding into dst [hidden]
// (model.TokenEmbedder).
func (m *Model) EmbedRow(tok int32, dst []float32) { m.Embed.Row(int(tok), dst) }

// HiddenSize is the width of an input embedding row.
func (m *Model) HiddenSize() int { return m.cfg.HiddenSize }
