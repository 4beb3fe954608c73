package asr

import (
	"fmt"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// WhisperConfig is the encoder half of a Hugging Face WhisperConfig (a
// stock Whisper config.json, or the audio_config block of a composite
// speech checkpoint).
type WhisperConfig struct {
	NumMelBins         int     `json:"num_mel_bins"`
	DModel             int     `json:"d_model"`
	EncoderLayers      int     `json:"encoder_layers"`
	EncoderHeads       int     `json:"encoder_attention_heads"`
	EncoderFFNDim      int     `json:"encoder_ffn_dim"`
	MaxSourcePositions int     `json:"max_source_positions"`
	ActivationFunction string  `json:"activation_function"`
	ScaleEmbedding     bool    `json:"scale_embedding"`
	LayerNormEps       float64 `json:"layer_norm_eps"`
}

// Frames is the number of mel frames the encoder takes: exactly two per
// position (conv2 has stride 2), as transformers' WhisperEncoder requires.
func (c WhisperConfig) Frames() int { return 2 * c.MaxSourcePositions }

func (c *WhisperConfig) validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"num_mel_bins", c.NumMelBins}, {"d_model", c.DModel}, {"encoder_layers", c.EncoderLayers},
		{"encoder_attention_heads", c.EncoderHeads}, {"encoder_ffn_dim", c.EncoderFFNDim}, {"max_source_positions", c.MaxSourcePositions}} {
		if f.v <= 0 {
			return fmt.Errorf("whisper encoder: %s must be positive, got %d", f.name, f.v)
		}
	}
	if c.DModel%c.EncoderHeads != 0 {
		return fmt.Errorf("whisper encoder: d_model %d is not a multiple of encoder_attention_heads %d", c.DModel, c.EncoderHeads)
	}
	if c.ActivationFunction == "" {
		c.ActivationFunction = "gelu"
	}
	if c.ActivationFunction != "gelu" {
		return fmt.Errorf("whisper encoder: activation_function %q is not supported (only gelu)", c.ActivationFunction)
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-5 // nn.LayerNorm's default, which WhisperEncoder uses
	}
	return nil
}

// Whisper is a Whisper encoder (transformers' WhisperEncoder): two
// convolutions with GELU (k3 s1, k3 s2: 100 -> 50 frames per second),
// sinusoidal positions, pre-LN transformer blocks with bidirectional
// attention, a final LayerNorm. D = d_model, M = mel bins, I = FFN width.
type Whisper struct {
	Cfg    WhisperConfig
	Conv1  *model.Matrix // [D, M*3] (conv weight [D, M, 3] as im2col)
	Conv1B []float32     // [D]
	Conv2  *model.Matrix // [D, D*3]
	Conv2B []float32     // [D]
	Pos    *model.Matrix // [max_source_positions, D]
	Layers []whisperLayer
	NormW  []float32 // [D] final layer_norm
	NormB  []float32 // [D]
}

type whisperLayer struct {
	AttnNormW, AttnNormB []float32     // [D]
	Q, K, V, O           *model.Matrix // [D, D]; k_proj has no bias
	QB, VB, OB           []float32     // [D]
	FFNNormW, FFNNormB   []float32     // [D] final_layer_norm
	FC1                  *model.Matrix // [I, D]
	FC1B                 []float32     // [I]
	FC2                  *model.Matrix // [D, I]
	FC2B                 []float32     // [D]
}

// loadWhisper reads the encoder's tensors under prefix ("model.encoder." in
// WhisperForConditionalGeneration and composite checkpoints, "encoder." in
// a WhisperModel).
func loadWhisper(w *model.Weights, prefix string, c WhisperConfig) (*Whisper, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	D, M, I := c.DModel, c.NumMelBins, c.EncoderFFNDim
	var err error
	mat := func(name string, shape ...int) *model.Matrix {
		if err != nil {
			return nil
		}
		var m *model.Matrix
		m, err = w.Flat(prefix+name, shape...)
		return m
	}
	vec := func(name string, n int) []float32 {
		if err != nil {
			return nil
		}
		var v []float32
		v, err = w.Vector(prefix+name, n)
		return v
	}
	e := &Whisper{Cfg: c}
	e.Conv1, e.Conv1B = mat("conv1.weight", D, M, 3), vec("conv1.bias", D)
	e.Conv2, e.Conv2B = mat("conv2.weight", D, D, 3), vec("conv2.bias", D)
	e.Pos = mat("embed_positions.weight", c.MaxSourcePositions, D)
	e.Layers = make([]whisperLayer, c.EncoderLayers)
	for i := range e.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		l := &e.Layers[i]
		l.AttnNormW, l.AttnNormB = vec(p+"self_attn_layer_norm.weight", D), vec(p+"self_attn_layer_norm.bias", D)
		l.Q, l.QB = mat(p+"self_attn.q_proj.weight", D, D), vec(p+"self_attn.q_proj.bias", D)
		l.K = mat(p+"self_attn.k_proj.weight", D, D)
		l.V, l.VB = mat(p+"self_attn.v_proj.weight", D, D), vec(p+"self_attn.v_proj.bias", D)
		l.O, l.OB = mat(p+"self_attn.out_proj.weight", D, D), vec(p+"self_attn.out_proj.bias", D)
		l.FFNNormW, l.FFNNormB = vec(p+"final_layer_norm.weight", D), vec(p+"final_layer_norm.bias", D)
		l.FC1, l.FC1B = mat(p+"fc1.weight", I, D), vec(p+"fc1.bias", I)
		l.FC2, l.FC2B = mat(p+"fc2.weight", D, I), vec(p+"fc2.bias", D)
	}
	e.NormW, e.NormB = vec("layer_norm.weight", D), vec("layer_norm.bias", D)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Encode runs the encoder on log-mel features [M, Frames()] (mel bin major,
// as WhisperFeatureExtractor returns them) and returns the last hidden
// state [T, D], T = Frames()/2. Safe for concurrent use.
func (e *Whisper) Encode(mel []float32) ([]float32, error) {
	c := e.Cfg
	M, F, D := c.NumMelBins, c.Frames(), c.DModel
	if len(mel) != M*F {
		return nil, fmt.Errorf("whisper encoder: features hold %d floats, want %d mel bins x %d frames", len(mel), M, F)
	}
	// conv1 (k3 s1 p1) + GELU: [F, D], time-major from here on.
	x := conv1d(e.Conv1, e.Conv1B, F, 3, 1, 1, func(t, ch int) float32 { return mel[ch*F+t] }, M)
	cpu.GELU(x)
	// conv2 (k3 s2 p1) + GELU: [T, D].
	T := (F-1)/2 + 1
	h := conv1d(e.Conv2, e.Conv2B, F, 3, 2, 1, func(t, ch int) float32 { return x[t*D+ch] }, D)
	cpu.GELU(h)
	pos := make([]float32, D)
	for t := 0; t < T; t++ {
		e.Pos.Row(t, pos)
		cpu.Add(h[t*D:(t+1)*D], pos)
	}
	heads := c.EncoderHeads
	eps := float32(c.LayerNormEps)
	var (
		n   = make([]float32, T*D)
		q   = make([]float32, T*D)
		k   = make([]float32, T*D)
		v   = make([]float32, T*D)
		att = make([]float32, T*D)
		o   = make([]float32, T*D)
		ff  = make([]float32, T*c.EncoderFFNDim)
	)
	for li := range e.Layers {
		l := &e.Layers[li]
		cpu.LayerNorm(n, h, l.AttnNormW, l.AttnNormB, T, D, eps)
		l.Q.MatMul(q, n, T) // [T, D]
		cpu.AddBias(q, l.QB, T)
		l.K.MatMul(k, n, T)
		l.V.MatMul(v, n, T)
		cpu.AddBias(v, l.VB, T)
		cpu.Attention(att, q, k, v, T, 0, T, heads, heads, D/heads, cpu.Mask{Kind: cpu.Bidirectional})
		l.O.MatMul(o, att, T)
		cpu.AddBias(o, l.OB, T)
		cpu.Add(h, o)

		cpu.LayerNorm(n, h, l.FFNNormW, l.FFNNormB, T, D, eps)
		l.FC1.MatMul(ff, n, T) // [T, I]
		cpu.AddBias(ff, l.FC1B, T)
		cpu.GELU(ff)
		l.FC2.MatMul(o, ff, T) // [T, D]
		cpu.AddBias(o, l.FC2B, T)
		cpu.Add(h, o)
	}
	cpu.LayerNorm(h, h, e.NormW, e.NormB, T, D, eps)
	return h, nil
}

// conv1d is a 1-D convolution as one matrix multiply over im2col columns.
// in(t, ch) reads input channel ch at time t (0 <= t < n); w is the kernel
// [out, in*k] in PyTorch's [out, in, k] order. Returns [n_out, out],
// n_out = (n + 2*pad - k)/stride + 1.
func conv1d(w *model.Matrix, b []float32, n, k, stride, pad int, in func(t, ch int) float32, chans int) []float32 {
	nOut := (n+2*pad-k)/stride + 1
	cols := make([]float32, nOut*chans*k) // [n_out, in*k]
	for t := 0; t < nOut; t++ {
		row := cols[t*chans*k : (t+1)*chans*k]
		for j := 0; j < k; j++ {
			src := t*stride + j - pad
			if src < 0 || src >= n {
				continue
			}
			for ch := 0; ch < chans; ch++ {
				row[ch*k+j] = in(src, ch)
			}
		}
	}
	out := make([]float32, nOut*w.Rows)
	w.MatMul(out, cols, nOut)
	cpu.AddBias(out, b, nOut)
	return out
}
