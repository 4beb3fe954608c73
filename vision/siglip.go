package vision

import (
	"encoding/json"
	"fmt"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// SiglipConfig is a Hugging Face SiglipVisionConfig (the vision_config block of a
// LLaVA-OneVision checkpoint, or a SiglipVisionModel's config.json).
type SiglipConfig struct {
	HiddenSize       int     `json:"hidden_size"`
	IntermediateSize int     `json:"intermediate_size"`
	NumLayers        int     `json:"num_hidden_layers"`
	NumHeads         int     `json:"num_attention_heads"`
	NumChannels      int     `json:"num_channels"`
	ImageSize        int     `json:"image_size"`
	PatchSize        int     `json:"patch_size"`
	LayerNormEps     float64 `json:"layer_norm_eps"`
	HiddenAct        string  `json:"hidden_act"`
	UseHead          bool    `json:"vision_use_head"`
}

// parseSiglipConfig decodes a SiglipVisionConfig with transformers' defaults
// for missing fields.
func parseSiglipConfig(b []byte) (SiglipConfig, error) {
	c := SiglipConfig{HiddenSize: 768, IntermediateSize: 3072, NumLayers: 12, NumHeads: 12, NumChannels: 3,
		ImageSize: 224, PatchSize: 16, LayerNormEps: 1e-6, HiddenAct: "gelu_pytorch_tanh", UseHead: true}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads}, {"num_channels", c.NumChannels}, {"image_size", c.ImageSize}, {"patch_size", c.PatchSize}} {
		if f.v <= 0 {
			return c, fmt.Errorf("siglip: %s must be positive, got %d", f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumHeads != 0 {
		return c, fmt.Errorf("siglip: hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumHeads)
	}
	if c.ImageSize%c.PatchSize != 0 {
		return c, fmt.Errorf("siglip: image_size %d is not a multiple of patch_size %d", c.ImageSize, c.PatchSize)
	}
	if _, ok := activations[c.HiddenAct]; !ok {
		return c, fmt.Errorf("siglip: hidden_act %q is not supported", c.HiddenAct)
	}
	return c, nil
}

// activations are the hidden_act values the towers run, by transformers' ACT2FN name.
var activations = map[string]func([]float32){
	"gelu":              cpu.GELU,
	"gelu_pytorch_tanh": cpu.GELUTanh,
	"gelu_new":          cpu.GELUTanh,
	"quick_gelu":        cpu.QuickGELU,
}

// Grid is the number of patches along each side.
func (c SiglipConfig) Grid() int { return c.ImageSize / c.PatchSize }

// Siglip is a SigLIP vision transformer (transformers' SiglipVisionModel): a
// patch-embedding convolution, learned position embeddings, pre-LN encoder
// layers with bidirectional attention, a final post_layernorm and optionally
// the attention-pooling head. D = hidden_size, I = intermediate_size,
// P = patch_size, N = (image_size/P)² patches.
type Siglip struct {
	Cfg        SiglipConfig
	PatchEmbed *model.Matrix // [D, 3*P*P] (conv weight [D, 3, P, P] as im2col)
	PatchBias  []float32     // [D]
	Pos        *model.Matrix // [N, D]
	Layers     []siglipLayer
	PostNormW  []float32 // [D]
	PostNormB  []float32 // [D]
	Head       *siglipHead
}

type siglipLayer struct {
	Norm1W, Norm1B []float32     // [D] layer_norm1
	Q, K, V, O     *model.Matrix // [D, D]
	QB, KB, VB, OB []float32     // [D]
	Norm2W, Norm2B []float32     // [D] layer_norm2
	FC1            *model.Matrix // [I, D]
	FC1B           []float32     // [I]
	FC2            *model.Matrix // [D, I]
	FC2B           []float32     // [D]
}

// siglipHead is SiglipMultiheadAttentionPoolingHead: a learned probe attends
// over the patches (torch.nn.MultiheadAttention), then LayerNorm + MLP residual.
type siglipHead struct {
	Probe        []float32     // [D]
	InProj       *model.Matrix // [3D, D] q, k, v stacked
	InProjB      []float32     // [3D]
	Out          *model.Matrix // [D, D]
	OutB         []float32     // [D]
	NormW, NormB []float32     // [D]
	FC1          *model.Matrix // [I, D]
	FC1B         []float32     // [I]
	FC2          *model.Matrix // [D, I]
	FC2B         []float32     // [D]
}

// loader reads tensors under a prefix and remembers the first error.
type loader struct {
	w      *model.Weights
	prefix string
	err    error
}

func (l *loader) mat(name string, shape ...int) *model.Matrix {
	if l.err != nil {
		return nil
	}
	m, err := l.w.Flat(l.prefix+name, shape...)
	l.err = err
	return m
}

func (l *loader) vec(name string, n int) []float32 {
	if l.err != nil {
		return nil
	}
	v, err := l.w.Vector(l.prefix+name, n)
	l.err = err
	return v
}

// flat reads any tensor as fp32 (a [1, 1, D] probe, say).
func (l *loader) flat(name string, shape ...int) []float32 {
	m := l.mat(name, shape...)
	if m == nil {
		return nil
	}
	out := make([]float32, m.Rows*m.Cols)
	for r := range m.Rows {
		m.Row(r, out[r*m.Cols:(r+1)*m.Cols])
	}
	return out
}

// loadSiglip reads a SigLIP tower under prefix ("vision_tower." in
// LLaVA-OneVision checkpoints, "vision_tower.vision_model." in older ones,
// "" or "vision_model." in a SiglipVisionModel).
func loadSiglip(w *model.Weights, prefix string, c SiglipConfig) (*Siglip, error) {
	D, I, P, C := c.HiddenSize, c.IntermediateSize, c.PatchSize, c.NumChannels
	N := c.Grid() * c.Grid()
	l := &loader{w: w, prefix: prefix}
	s := &Siglip{Cfg: c}
	s.PatchEmbed, s.PatchBias = l.mat("embeddings.patch_embedding.weight", D, C, P, P), l.vec("embeddings.patch_embedding.bias", D)
	s.Pos = l.mat("embeddings.position_embedding.weight", N, D)
	s.Layers = make([]siglipLayer, c.NumLayers)
	for i := range s.Layers {
		p := fmt.Sprintf("encoder.layers.%d.", i)
		y := &s.Layers[i]
		y.Norm1W, y.Norm1B = l.vec(p+"layer_norm1.weight", D), l.vec(p+"layer_norm1.bias", D)
		y.Q, y.QB = l.mat(p+"self_attn.q_proj.weight", D, D), l.vec(p+"self_attn.q_proj.bias", D)
		y.K, y.KB = l.mat(p+"self_attn.k_proj.weight", D, D), l.vec(p+"self_attn.k_proj.bias", D)
		y.V, y.VB = l.mat(p+"self_attn.v_proj.weight", D, D), l.vec(p+"self_attn.v_proj.bias", D)
		y.O, y.OB = l.mat(p+"self_attn.out_proj.weight", D, D), l.vec(p+"self_attn.out_proj.bias", D)
		y.Norm2W, y.Norm2B = l.vec(p+"layer_norm2.weight", D), l.vec(p+"layer_norm2.bias", D)
		y.FC1, y.FC1B = l.mat(p+"mlp.fc1.weight", I, D), l.vec(p+"mlp.fc1.bias", I)
		y.FC2, y.FC2B = l.mat(p+"mlp.fc2.weight", D, I), l.vec(p+"mlp.fc2.bias", D)
	}
	s.PostNormW, s.PostNormB = l.vec("post_layernorm.weight", D), l.vec("post_layernorm.bias", D)
	if c.UseHead {
		h := &siglipHead{}
		h.Probe = l.flat("head.probe", 1, 1, D)
		h.InProj, h.InProjB = l.mat("head.attention.in_proj_weight", 3*D, D), l.vec("head.attention.in_proj_bias", 3*D)
		h.Out, h.OutB = l.mat("head.attention.out_proj.weight", D, D), l.vec("head.attention.out_proj.bias", D)
		h.NormW, h.NormB = l.vec("head.layernorm.weight", D), l.vec("head.layernorm.bias", D)
		h.FC1, h.FC1B = l.mat("head.mlp.fc1.weight", I, D), l.vec("head.mlp.fc1.bias", I)
		h.FC2, h.FC2B = l.mat("head.mlp.fc2.weight", D, I), l.vec("head.mlp.fc2.bias", D)
		s.Head = h
	}
	if l.err != nil {
		return nil, l.err
	}
	return s, nil
}

// SiglipOutput is a tower forward pass over one crop.
type SiglipOutput struct {
	// Hidden are the hidden states [N, D] that were asked for, by index into
	// transformers' hidden_states tuple: 0 = embeddings, i = after layer i;
	// negative indices count from the end (-1 = the last layer, before
	// post_layernorm).
	Hidden map[int][]float32
	// Last is post_layernorm(last layer) [N, D] (last_hidden_state); nil unless asked.
	Last []float32
	// Pooled is the head's output [D] (pooler_output); nil without a head or unless asked.
	Pooled []float32
}

// Forward runs the tower on one crop [3, image_size, image_size] and returns the
// hidden states at layers (indices as SiglipOutput.Hidden), and with final
// set also last_hidden_state and the pooled output. Safe for concurrent use.
func (s *Siglip) Forward(pixels []float32, layers []int, final bool) (*SiglipOutput, error) {
	c := s.Cfg
	D, P, G, C := c.HiddenSize, c.PatchSize, c.Grid(), c.NumChannels
	N := G * G
	if len(pixels) != C*c.ImageSize*c.ImageSize {
		return nil, fmt.Errorf("siglip: crop has %d values, want %d×%d×%d", len(pixels), C, c.ImageSize, c.ImageSize)
	}
	L := c.NumLayers
	want := map[int]bool{}
	for _, i := range layers {
		j := i
		if j < 0 {
			j += L + 1
		}
		if j < 0 || j > L {
			return nil, fmt.Errorf("siglip: hidden state %d out of range for %d layers", i, L)
		}
		want[j] = true
	}
	out := &SiglipOutput{Hidden: map[int][]float32{}}
	keep := func(j int, x []float32) {
		if want[j] {
			h := append([]float32(nil), x...)
			out.Hidden[j] = h
			out.Hidden[j-L-1] = h
		}
	}
	// Patch embedding: im2col [N, C*P*P] (channel, row, column within the patch) · Wᵀ + b.
	cols := make([]float32, N*C*P*P)
	for py := range G {
		for px := range G {
			dst := cols[(py*G+px)*C*P*P:]
			for ch := range C {
				for y := range P {
					src := pixels[ch*c.ImageSize*c.ImageSize+(py*P+y)*c.ImageSize+px*P:]
					copy(dst[(ch*P+y)*P:(ch*P+y+1)*P], src[:P])
				}
			}
		}
	}
	x := make([]float32, N*D) // [N, D]
	s.PatchEmbed.MatMul(x, cols, N)
	cpu.AddBias(x, s.PatchBias, N)
	pos := make([]float32, D)
	for i := range N {
		s.Pos.Row(i, pos)
		cpu.Add(x[i*D:(i+1)*D], pos)
	}
	keep(0, x)
	last := 0
	for j := range want {
		last = max(last, j)
	}
	if final {
		last = L
	}
	eps := float32(c.LayerNormEps)
	act := activations[c.HiddenAct]
	buf := newEncoderScratch(N, D, c.IntermediateSize)
	for i := 0; i < last; i++ {
		s.Layers[i].forward(x, N, c.NumHeads, eps, act, buf)
		keep(i+1, x)
	}
	if final {
		out.Last = make([]float32, N*D)
		cpu.LayerNorm(out.Last, x, s.PostNormW, s.PostNormB, N, D, eps)
		if s.Head != nil {
			out.Pooled = s.Head.forward(out.Last, N, c, act)
		}
	}
	return out, nil
}

// encoderScratch holds one layer's activations: h, q, k, v, a [N, D]; m [N, I].
type encoderScratch struct{ h, q, k, v, a, m []float32 }

func newEncoderScratch(n, d, i int) *encoderScratch {
	return &encoderScratch{h: make([]float32, n*d), q: make([]float32, n*d), k: make([]float32, n*d),
		v: make([]float32, n*d), a: make([]float32, n*d), m: make([]float32, n*i)}
}

// forward updates x [N, D] in place: x += attn(LN1 x); x += MLP(LN2 x).
func (y *siglipLayer) forward(x []float32, n, heads int, eps float32, act func([]float32), s *encoderScratch) {
	d := len(y.Norm1W)
	cpu.LayerNorm(s.h, x, y.Norm1W, y.Norm1B, n, d, eps)
	linear(s.q, s.h, y.Q, y.QB, n)
	linear(s.k, s.h, y.K, y.KB, n)
	linear(s.v, s.h, y.V, y.VB, n)
	cpu.Attention(s.a, s.q, s.k, s.v, n, 0, n, heads, heads, d/heads, cpu.Mask{Kind: cpu.Bidirectional})
	linear(s.h, s.a, y.O, y.OB, n)
	cpu.Add(x, s.h)
	cpu.LayerNorm(s.h, x, y.Norm2W, y.Norm2B, n, d, eps)
	linear(s.m, s.h, y.FC1, y.FC1B, n)
	act(s.m)
	linear(s.h, s.m, y.FC2, y.FC2B, n)
	cpu.Add(x, s.h)
}

// linear computes out[n, Rows] = x[n, Cols]·Wᵀ + b (b may be nil).
func linear(out, x []float32, w *model.Matrix, b []float32, n int) {
	w.MatMul(out[:n*w.Rows], x[:n*w.Cols], n)
	if b != nil {
		cpu.AddBias(out[:n*w.Rows], b, n)
	}
}

// forward pools x [N, D] (post_layernorm output) to [D].
func (h *siglipHead) forward(x []float32, n int, c SiglipConfig, act func([]float32)) []float32 {
	D, heads := c.HiddenSize, c.NumHeads
	qkv := make([]float32, 3*D)
	linear(qkv, h.Probe, h.InProj, h.InProjB, 1)
	// Keys and values of every patch: rows D..2D and 2D..3D of in_proj.
	k, v := make([]float32, n*D), make([]float32, n*D)
	kw := &model.Matrix{Rows: D, Cols: D, DType: h.InProj.DType}
	vw := &model.Matrix{Rows: D, Cols: D, DType: h.InProj.DType}
	sliceRows(kw, h.InProj, D, 2*D)
	sliceRows(vw, h.InProj, 2*D, 3*D)
	linear(k, x, kw, h.InProjB[D:2*D], n)
	linear(v, x, vw, h.InProjB[2*D:], n)
	a := make([]float32, D)
	cpu.Attention(a, qkv[:D], k, v, 1, 0, n, heads, heads, D/heads, cpu.Mask{Kind: cpu.Bidirectional})
	o := make([]float32, D)
	linear(o, a, h.Out, h.OutB, 1)
	t := make([]float32, D)
	cpu.LayerNorm(t, o, h.NormW, h.NormB, 1, D, float32(c.LayerNormEps))
	m := make([]float32, c.IntermediateSize)
	linear(m, t, h.FC1, h.FC1B, 1)
	act(m)
	linear(t, m, h.FC2, h.FC2B, 1)
	cpu.Add(o, t)
	return o
}

// sliceRows points dst at rows [r0, r1) of m (same storage).
func sliceRows(dst, m *model.Matrix, r0, r1 int) {
	dst.Rows, dst.Cols, dst.DType = r1-r0, m.Cols, m.DType
	switch {
	case m.F32 != nil:
		dst.F32 = m.F32[r0*m.Cols : r1*m.Cols]
	case m.BF16 != nil:
		dst.BF16 = m.BF16[r0*m.Cols : r1*m.Cols]
	case m.I8 != nil:
		dst.I8, dst.Scales = m.I8[r0*m.Cols:r1*m.Cols], m.Scales[r0:r1]
	}
}
