package asr

import (
	"fmt"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// Projector maps encoder states into the language model's embedding space:
// the rows that replace the prompt's audio placeholders.
type Projector interface {
	// Project maps enc [T, D] to rows [Tokens(T), OutDim()].
	Project(enc []float32, T int) []float32
	// Tokens is the number of rows Project makes from T encoder frames.
	Tokens(T int) int
	// OutDim is the language model's hidden size.
	OutDim() int
}

// ProjectorConfig is the "projector" block of a speech checkpoint's
// config.json.
type ProjectorConfig struct {
	// Type: "stack_mlp" (demo-speech: stack Stack consecutive frames, Linear,
	// activation, Linear) or "pool_conv_mlp" (dLLM-ASR / Step-Audio 2: average
	// pool, Conv1d + activation, Linear, activation, Linear).
	Type       string `json:"type"`
	Stack      int    `json:"stack"`
	HiddenSize int    `json:"hidden_size"`
	Activation string `json:"activation"` // "gelu" (erf) or "relu"
	Pool       int    `json:"pool"`
	ConvKernel int    `json:"conv_kernel"`
	ConvStride int    `json:"conv_stride"`
	ConvPad    int    `json:"conv_padding"`
	InnerSize  int    `json:"inner_size"`
}

func activation(name string) (func([]float32), error) {
	switch name {
	case "gelu", "":
		return cpu.GELU, nil
	case "relu":
		return relu, nil
	}
	return nil, fmt.Errorf("projector activation %q is not supported (gelu, relu)", name)
}

func relu(x []float32) {
	for i, v := range x {
		x[i] = max(v, 0)
	}
}

// loadProjector reads projector.* for encoder width d.
func loadProjector(w *model.Weights, c ProjectorConfig, d int) (Projector, error) {
	act, err := activation(c.Activation)
	if err != nil {
		return nil, err
	}
	if c.HiddenSize <= 0 {
		return nil, fmt.Errorf("projector: hidden_size must be positive, got %d", c.HiddenSize)
	}
	lin := func(name string, out, in int) (*model.Matrix, []float32, error) {
		m, err := w.Matrix("projector."+name+".weight", out, in)
		if err != nil {
			return nil, nil, err
		}
		b, err := w.Vector("projector."+name+".bias", out)
		return m, b, err
	}
	switch c.Type {
	case "stack_mlp":
		if c.Stack <= 0 {
			return nil, fmt.Errorf("projector stack_mlp: stack must be positive, got %d", c.Stack)
		}
		p := &stackMLP{stack: c.Stack, d: d, h: c.HiddenSize, act: act}
		if p.l1, p.b1, err = lin("linear_1", c.HiddenSize, c.Stack*d); err != nil {
			return nil, err
		}
		if p.l2, p.b2, err = lin("linear_2", c.HiddenSize, c.HiddenSize); err != nil {
			return nil, err
		}
		return p, nil
	case "pool_conv_mlp":
		if c.Pool <= 0 || c.ConvKernel <= 0 || c.ConvStride <= 0 || c.InnerSize <= 0 || c.ConvPad < 0 {
			return nil, fmt.Errorf("projector pool_conv_mlp: pool %d, conv kernel %d stride %d padding %d, inner_size %d must be positive",
				c.Pool, c.ConvKernel, c.ConvStride, c.ConvPad, c.InnerSize)
		}
		p := &poolConvMLP{c: c, d: d, act: act}
		if p.conv, err = w.Flat("projector.conv.weight", d, d, c.ConvKernel); err != nil {
			return nil, err
		}
		if p.convB, err = w.Vector("projector.conv.bias", d); err != nil {
			return nil, err
		}
		if p.l1, p.b1, err = lin("linear_1", c.InnerSize, d); err != nil {
			return nil, err
		}
		if p.l2, p.b2, err = lin("linear_2", c.HiddenSize, c.InnerSize); err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("projector type %q is not supported (stack_mlp, pool_conv_mlp)", c.Type)
}

// stackMLP concatenates Stack consecutive frames in time order ([T, D] ->
// [T/s, s*D], a reshape of the time-major rows; a partial last group is
// dropped), then Linear, activation, Linear.
type stackMLP struct {
	stack, d, h int
	act         func([]float32)
	l1, l2      *model.Matrix // [H, s*D], [H, H]
	b1, b2      []float32     // [H]
}

func (p *stackMLP) Tokens(T int) int { return T / p.stack }
func (p *stackMLP) OutDim() int      { return p.h }

func (p *stackMLP) Project(enc []float32, T int) []float32 {
	n := p.Tokens(T)
	mid := make([]float32, n*p.h)
	p.l1.MatMul(mid, enc[:n*p.stack*p.d], n) // [N, H]
	cpu.AddBias(mid, p.b1, n)
	p.act(mid)
	out := make([]float32, n*p.h)
	p.l2.MatMul(out, mid, n)
	cpu.AddBias(out, p.b2, n)
	return out
}

// poolConvMLP is the dLLM-ASR chain on a 50 Hz encoder: average pool
// (kernel = stride = Pool: 25 Hz), Conv1d (12.5 Hz) + activation,
// Linear + activation, Linear into the LM width.
type poolConvMLP struct {
	c      ProjectorConfig
	d      int
	act    func([]float32)
	conv   *model.Matrix // [D, D*k]
	convB  []float32     // [D]
	l1, l2 *model.Matrix // [inner, D], [H, inner]
	b1, b2 []float32
}

func (p *poolConvMLP) pooled(T int) int { return T / p.c.Pool }

func (p *poolConvMLP) Tokens(T int) int {
	return (p.pooled(T)+2*p.c.ConvPad-p.c.ConvKernel)/p.c.ConvStride + 1
}

func (p *poolConvMLP) OutDim() int { return p.c.HiddenSize }

func (p *poolConvMLP) Project(enc []float32, T int) []float32 {
	D, P := p.d, p.c.Pool
	tp := p.pooled(T)
	pool := make([]float32, tp*D) // [T/P, D]
	for t := 0; t < tp; t++ {
		dst := pool[t*D : (t+1)*D]
		for j := 0; j < P; j++ {
			cpu.Add(dst, enc[(t*P+j)*D:(t*P+j+1)*D])
		}
		for i := range dst {
			dst[i] /= float32(P)
		}
	}
	x := conv1d(p.conv, p.convB, tp, p.c.ConvKernel, p.c.ConvStride, p.c.ConvPad,
		func(t, ch int) float32 { return pool[t*D+ch] }, D) // [N, D]
	p.act(x)
	n := p.Tokens(T)
	mid := make([]float32, n*p.c.InnerSize)
	p.l1.MatMul(mid, x, n)
	cpu.AddBias(mid, p.b1, n)
	p.act(mid)
	out := make([]float32, n*p.c.HiddenSize)
	p.l2.MatMul(out, mid, n)
	cpu.AddBias(out, p.b2, n)
	return out
}
