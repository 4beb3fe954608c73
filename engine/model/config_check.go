package model

import (
	"fmt"
	"math"
	"math/bits"
)

// Limits on the sizes config.json may claim. Each is far above any
// published checkpoint (the largest dense models have hidden_size 16384,
// 126 layers, 128 heads, intermediate_size 53248 and vocabularies of 262144)
// and low enough that nothing sized by them can exhaust memory before the
// weights are checked: a hostile config is refused, not obeyed.
const (
	MaxHiddenSize       = 1 << 16 // hidden_size
	MaxLayers           = 1 << 10 // num_hidden_layers
	MaxHeads            = 1 << 10 // num_attention_heads (and so num_key_value_heads)
	MaxHeadDim          = 1 << 10 // head_dim
	MaxIntermediateSize = 1 << 18 // intermediate_size
	MaxVocabSize        = 1 << 22 // vocab_size
	MaxPositions        = 1 << 24 // max_position_embeddings (0: not given)
	MaxBlockSize        = 1 << 16 // block_size, bd_size (0: not given)
)

// sizeLimit is one config.json size and the closed range it must lie in.
type sizeLimit struct {
	field    string
	v        int
	min, max int
}

// sizes are c's sizes with their ranges. num_key_value_heads is bounded by
// being a divisor of num_attention_heads.
func (c *Config) sizes() []sizeLimit {
	return []sizeLimit{
		{"hidden_size", c.HiddenSize, 1, MaxHiddenSize},
		{"num_hidden_layers", c.NumLayers, 1, MaxLayers},
		{"num_attention_heads", c.NumHeads, 1, MaxHeads},
		{"num_key_value_heads", c.NumKVHeads, 1, MaxHeads},
		{"head_dim", c.HeadDim, 1, MaxHeadDim},
		{"intermediate_size", c.IntermediateSize, 1, MaxIntermediateSize},
		{"vocab_size", c.VocabSize, 1, MaxVocabSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings, 0, MaxPositions},
		{"block_size", c.BlockSize, 0, MaxBlockSize},
		{"bd_size", c.BDSize, 0, MaxBlockSize},
	}
}

// Validate checks a config's sizes and numbers (ParseConfig calls it, after
// filling defaults; a Config built in code can call it too): every size in
// its range (see the Max constants), num_attention_heads a multiple of
// num_key_value_heads, an even head_dim, rope_theta and rms_norm_eps finite
// and positive, token ids non-negative and the mask token inside the
// vocabulary, and a parameter count that fits 64 bits. Errors name the
// field, the value and the limit.
func (c *Config) Validate() error {
	for _, s := range c.sizes() {
		switch {
		case s.v < s.min && s.min == 1:
			return fmt.Errorf("%s must be positive, got %d", s.field, s.v)
		case s.v < s.min:
			return fmt.Errorf("%s must be at least %d, got %d", s.field, s.min, s.v)
		case s.v > s.max:
			return fmt.Errorf("%s %d exceeds the limit of %d", s.field, s.v, s.max)
		}
	}
	if c.NumHeads%c.NumKVHeads != 0 {
		return fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.NumHeads, c.NumKVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim %d must be even for rotary embeddings", c.HeadDim)
	}
	// cpu.NewRoPE rounds theta to float32, so it must be finite there.
	if !(c.RopeTheta > 0 && c.RopeTheta <= math.MaxFloat32) {
		return fmt.Errorf("rope_theta must be positive and finite, got %v", c.RopeTheta)
	}
	if !(c.RMSNormEps > 0 && c.RMSNormEps <= 1) {
		return fmt.Errorf("rms_norm_eps must be in (0, 1], got %v", c.RMSNormEps)
	}
	if c.MaskTokenID != nil && (*c.MaskTokenID < 0 || *c.MaskTokenID >= c.VocabSize) {
		return fmt.Errorf("mask_token_id %d is outside the vocabulary [0, %d)", *c.MaskTokenID, c.VocabSize)
	}
	if c.BOSTokenID != nil && (*c.BOSTokenID < 0 || *c.BOSTokenID > math.MaxInt32) {
		return fmt.Errorf("bos_token_id %d is not a token id (0 to 2^31-1)", *c.BOSTokenID)
	}
	for i, id := range c.EOSTokenID {
		if id < 0 || id > math.MaxInt32 {
			return fmt.Errorf("eos_token_id[%d] = %d is not a token id (0 to 2^31-1)", i, id)
		}
	}
	if _, err := c.DecoderParams(); err != nil {
		return err
	}
	return nil
}

// DecoderParams is a lower bound on the parameters a checkpoint of this
// config stores: the token embedding, per layer the q/k/v/o projections
// (with q/k/v biases when attention_bias is set), the gated MLP and the two
// norms, and the final norm. It leaves out what a checkpoint may omit or an
// architecture may not have (an untied LM head, which a tied embedding
// replaces; q/k norms). The arithmetic is overflow-checked.
func (c *Config) DecoderParams() (int64, error) {
	var a checked
	H, D, I := int64(c.HiddenSize), int64(c.HeadDim), int64(c.IntermediateSize)
	qd, kvd := a.mul(int64(c.NumHeads), D), a.mul(int64(c.NumKVHeads), D)
	layer := a.add(
		a.mul(2, a.mul(qd, H)),    // q_proj [qd, H], o_proj [H, qd]
		a.mul(2, a.mul(kvd, H)),   // k_proj, v_proj [kvd, H]
		a.mul(3, a.mul(I, H)),     // gate_proj, up_proj [I, H], down_proj [H, I]
		a.mul(2, H),               // input and post-attention norms
		c.biasParams(&a, qd, kvd), // q/k/v biases
	)
	n := a.add(a.mul(int64(c.VocabSize), H), a.mul(int64(c.NumLayers), layer), H)
	if a.negative {
		return 0, fmt.Errorf("sizes must not be negative (hidden_size %d, num_hidden_layers %d, num_attention_heads %d, num_key_value_heads %d, head_dim %d, intermediate_size %d, vocab_size %d)", c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKVHeads, c.HeadDim, c.IntermediateSize, c.VocabSize)
	}
	if a.overflow {
		return 0, fmt.Errorf("the parameter count overflows 64 bits (hidden_size %d, num_hidden_layers %d, intermediate_size %d, vocab_size %d)", c.HiddenSize, c.NumLayers, c.IntermediateSize, c.VocabSize)
	}
	return n, nil
}

func (c *Config) biasParams(a *checked, qd, kvd int64) int64 {
	if c.AttentionBias == nil || !*c.AttentionBias {
		return 0
	}
	return a.add(qd, a.mul(2, kvd))
}

// minWeightBytes is the fewest bytes a checkpoint's tensors occupy if they
// hold DecoderParams parameters: 2 per parameter, the smallest dtype the
// loader takes for weights (BF16, F16).
const minWeightBytes = 2

// checkWeightBytes refuses a config that claims more weights than the
// checkpoint's files hold (have bytes of tensors, all files together),
// before anything is sized by the config.
func (c *Config) checkWeightBytes(have int64) error {
	var a checked
	params, err := c.DecoderParams()
	if err != nil {
		return fmt.Errorf("%s: %v", c.Path, err)
	}
	need := a.mul(params, minWeightBytes)
	if a.overflow {
		return fmt.Errorf("%s: config claims %d parameters, more bytes than 64 bits count", c.Path, params)
	}
	if need > have {
		return fmt.Errorf("%s: config claims a model of at least %d parameters (hidden_size %d, num_hidden_layers %d, intermediate_size %d, vocab_size %d), %d bytes at %d bytes each, but the checkpoint's safetensors files hold only %d bytes of tensors",
			c.Path, params, c.HiddenSize, c.NumLayers, c.IntermediateSize, c.VocabSize, need, minWeightBytes, have)
	}
	return nil
}

// checked is int64 arithmetic on non-negative numbers that records an
// overflow, or a negative operand, instead of wrapping.
type checked struct{ overflow, negative bool }

func (a *checked) mul(x, y int64) int64 {
	if x < 0 || y < 0 {
		a.negative = true
		return 0
	}
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	if hi != 0 || lo > math.MaxInt64 {
		a.overflow = true
		return 0
	}
	return int64(lo)
}

func (a *checked) add(xs ...int64) int64 {
	var s uint64
	for _, x := range xs {
		if x < 0 {
			a.negative = true
			return 0
		}
		var carry uint64
		s, carry = bits.Add64(s, uint64(x), 0)
		if carry != 0 || s > math.MaxInt64 {
			a.overflow = true
			return 0
		}
	}
	return int64(s)
}
