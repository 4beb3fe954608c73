package vision

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"slices"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// QwenVisionConfig is a Hugging Face Qwen2_5_VLVisionConfig (the vision_config
// block of a Qwen2.5-VL checkpoint).
type QwenVisionConfig struct {
	Depth             int    `json:"depth"`
	HiddenSize        int    `json:"hidden_size"`
	HiddenAct         string `json:"hidden_act"`
	IntermediateSize  int    `json:"intermediate_size"`
	NumHeads          int    `json:"num_heads"`
	InChannels        int    `json:"in_channels"`
	PatchSize         int    `json:"patch_size"`
	SpatialMergeSize  int    `json:"spatial_merge_size"`
	TemporalPatchSize int    `json:"temporal_patch_size"`
	WindowSize        int    `json:"window_size"`
	OutHiddenSize     int    `json:"out_hidden_size"`
	FullAttBlocks     []int  `json:"fullatt_block_indexes"`
	RopeParameters    struct {
		Theta float64 `json:"rope_theta"`
	} `json:"rope_parameters"`
}

func parseQwenVisionConfig(b []byte) (QwenVisionConfig, error) {
	c := QwenVisionConfig{Depth: 32, HiddenSize: 3584, HiddenAct: "silu", IntermediateSize: 3420, NumHeads: 16, InChannels: 3,
		PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, WindowSize: 112, OutHiddenSize: 3584, FullAttBlocks: []int{7, 15, 23, 31}}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, err
	}
	if c.RopeParameters.Theta == 0 {
		c.RopeParameters.Theta = 10000
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"depth", c.Depth}, {"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_heads", c.NumHeads},
		{"in_channels", c.InChannels}, {"patch_size", c.PatchSize}, {"spatial_merge_size", c.SpatialMergeSize},
		{"temporal_patch_size", c.TemporalPatchSize}, {"window_size", c.WindowSize}, {"out_hidden_size", c.OutHiddenSize}} {
		if f.v <= 0 {
			return c, fmt.Errorf("qwen2.5-vl vision: %s must be positive, got %d", f.name, f.v)
		}
	}
	if c.HiddenSize%c.NumHeads != 0 || (c.HiddenSize/c.NumHeads)%4 != 0 {
		return c, fmt.Errorf("qwen2.5-vl vision: head dim %d/%d must be a multiple of 4 (2-D rotary)", c.HiddenSize, c.NumHeads)
	}
	if c.HiddenAct != "silu" {
		return c, fmt.Errorf("qwen2.5-vl vision: hidden_act %q is not supported (only silu)", c.HiddenAct)
	}
	if c.WindowSize/c.SpatialMergeSize/c.PatchSize <= 0 {
		return c, fmt.Errorf("qwen2.5-vl vision: window_size %d is smaller than one merged patch", c.WindowSize)
	}
	return c, nil
}

// QwenVision is the Qwen2.5-VL vision transformer
// (Qwen2_5_VisionTransformerPretrainedModel) with its preprocessing: a 3-D
// patch convolution (a linear map of each flattened [C, T, P, P] patch),
// 2-D rotary positions, RMSNorm blocks with window attention (full attention
// in FullAttBlocks) and SwiGLU MLPs, then the 2×2 PatchMerger into the
// language model's width. D = hidden_size, I = intermediate_size,
// O = out_hidden_size, K = in_channels·T·P·P.
type QwenVision struct {
	Cfg        QwenVisionConfig
	Proc       *ProcessorConfig
	PatchEmbed *model.Matrix // [D, K] (Conv3d weight [D, C, T, P, P], no bias)
	Blocks     []qwenBlock
	MergeNorm  []float32     // [D] merger.ln_q
	Merge1     *model.Matrix // [4D, 4D] merger.mlp.0
	Merge1B    []float32     // [4D]
	Merge2     *model.Matrix // [O, 4D] merger.mlp.2
	Merge2B    []float32     // [O]

	TokenID, StartTokenID, EndTokenID int
	invFreq                           []float32 // [headDim/4]
}

type qwenBlock struct {
	Norm1, Norm2 []float32     // [D]
	QKV          *model.Matrix // [3D, D]
	QKVB         []float32     // [3D]
	Proj         *model.Matrix // [D, D]
	ProjB        []float32     // [D]
	Gate, Up     *model.Matrix // [I, D]
	GateB, UpB   []float32     // [I]
	Down         *model.Matrix // [D, I]
	DownB        []float32     // [D]
	Full         bool          // full attention (fullatt_block_indexes), else windows
}

func loadQwen(b []byte, w *model.Weights, proc *ProcessorConfig) (*QwenVision, error) {
	var c struct {
		Vision        json.RawMessage `json:"vision_config"`
		ImageTokenID  *int            `json:"image_token_id"`
		VisionStartID *int            `json:"vision_start_token_id"`
		VisionEndID   *int            `json:"vision_end_token_id"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	vc, err := parseQwenVisionConfig(c.Vision)
	if err != nil {
		return nil, err
	}
	if proc.Kind != KindQwen2VL {
		return nil, fmt.Errorf("qwen2.5-vl: image processor %s (want %s)", proc.Kind, KindQwen2VL)
	}
	if proc.PatchSize != vc.PatchSize || proc.MergeSize != vc.SpatialMergeSize || proc.TemporalPatchSize != vc.TemporalPatchSize {
		return nil, fmt.Errorf("qwen2.5-vl: processor patch %d / merge %d / temporal %d differ from the tower's %d / %d / %d",
			proc.PatchSize, proc.MergeSize, proc.TemporalPatchSize, vc.PatchSize, vc.SpatialMergeSize, vc.TemporalPatchSize)
	}
	q := &QwenVision{Cfg: vc, Proc: proc, TokenID: 151655, StartTokenID: 151652, EndTokenID: 151653}
	for _, f := range []struct {
		dst *int
		v   *int
	}{{&q.TokenID, c.ImageTokenID}, {&q.StartTokenID, c.VisionStartID}, {&q.EndTokenID, c.VisionEndID}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	prefix := firstPrefix(w, "patch_embed.proj.weight", "model.visual.", "visual.")
	if prefix == "" {
		return nil, fmt.Errorf("qwen2.5-vl: no vision tower weights (model.visual.* or visual.*)")
	}
	D, I, O := vc.HiddenSize, vc.IntermediateSize, vc.OutHiddenSize
	M := D * vc.SpatialMergeSize * vc.SpatialMergeSize
	l := &loader{w: w, prefix: prefix}
	q.PatchEmbed = l.mat("patch_embed.proj.weight", D, vc.InChannels, vc.TemporalPatchSize, vc.PatchSize, vc.PatchSize)
	q.Blocks = make([]qwenBlock, vc.Depth)
	for i := range q.Blocks {
		p := fmt.Sprintf("blocks.%d.", i)
		k := &q.Blocks[i]
		k.Norm1, k.Norm2 = l.vec(p+"norm1.weight", D), l.vec(p+"norm2.weight", D)
		k.QKV, k.QKVB = l.mat(p+"attn.qkv.weight", 3*D, D), l.vec(p+"attn.qkv.bias", 3*D)
		k.Proj, k.ProjB = l.mat(p+"attn.proj.weight", D, D), l.vec(p+"attn.proj.bias", D)
		k.Gate, k.GateB = l.mat(p+"mlp.gate_proj.weight", I, D), l.vec(p+"mlp.gate_proj.bias", I)
		k.Up, k.UpB = l.mat(p+"mlp.up_proj.weight", I, D), l.vec(p+"mlp.up_proj.bias", I)
		k.Down, k.DownB = l.mat(p+"mlp.down_proj.weight", D, I), l.vec(p+"mlp.down_proj.bias", D)
		k.Full = slices.Contains(vc.FullAttBlocks, i)
	}
	q.MergeNorm = l.vec("merger.ln_q.weight", D)
	q.Merge1, q.Merge1B = l.mat("merger.mlp.0.weight", M, M), l.vec("merger.mlp.0.bias", M)
	q.Merge2, q.Merge2B = l.mat("merger.mlp.2.weight", O, M), l.vec("merger.mlp.2.bias", O)
	if l.err != nil {
		return nil, l.err
	}
	// Axial rotary frequencies over a quarter of the head (float32, as torch).
	hd := D / vc.NumHeads
	sd := hd / 2
	q.invFreq = make([]float32, sd/2)
	for i := range q.invFreq {
		e := float32(2*i) / float32(sd)
		q.invFreq[i] = 1 / float32(math.Pow(vc.RopeParameters.Theta, float64(e)))
	}
	return q, nil
}

// Encode preprocesses img as Qwen2VLImageProcessor and runs the tower.
func (q *QwenVision) Encode(img image.Image) (*Features, error) {
	p, err := q.Proc.QwenPatches(ToRGB(img))
	if err != nil {
		return nil, err
	}
	return q.EncodePatches(p)
}

// NumTokens is the merged-patch count of a width×height image.
func (q *QwenVision) NumTokens(width, height int) (int, error) {
	f := q.Proc.PatchSize * q.Proc.MergeSize
	h, w, err := SmartResize(height, width, f, q.Proc.Size.ShortestEdge, q.Proc.Size.LongestEdge)
	if err != nil {
		return 0, err
	}
	return (h / f) * (w / f), nil
}

// EncodePatches runs the tower on preprocessed patches [N, K] and returns the
// merger rows in the processor's merge-block order (= the image_pad order).
func (q *QwenVision) EncodePatches(p *Patches) (*Features, error) {
	c := q.Cfg
	D, m := c.HiddenSize, c.SpatialMergeSize
	unit := m * m
	K := c.InChannels * c.TemporalPatchSize * c.PatchSize * c.PatchSize
	g := p.Grid
	if p.Dim != K || p.N != g.T*g.H*g.W || g.H%m != 0 || g.W%m != 0 || p.N == 0 {
		return nil, fmt.Errorf("qwen2.5-vl: %d patches of %d values for grid %+v; want %d values and a grid divisible by %d", p.N, p.Dim, g, K, m)
	}
	N := p.N
	x := make([]float32, N*D) // [N, D] in the processor's order
	q.PatchEmbed.MatMul(x, p.Pixels, N)
	cos, sin := q.rotary(g) // [N, headDim] each
	// Window attention runs on merge units regrouped window by window.
	order, windows := windowIndex(g, m, c.WindowSize/m/c.PatchSize)
	x = permuteUnits(x, order, unit, D)
	hd := D / c.NumHeads
	cos, sin = permuteUnits(cos, order, unit, hd), permuteUnits(sin, order, unit, hd)
	full := []int{0, N}
	if g.T > 1 {
		full = full[:1]
		for t := 1; t <= g.T; t++ {
			full = append(full, t*g.H*g.W)
		}
	}
	s := &qwenScratch{h: make([]float32, N*D), qkv: make([]float32, N*3*D), q: make([]float32, N*D), k: make([]float32, N*D),
		v: make([]float32, N*D), a: make([]float32, N*D), g: make([]float32, N*c.IntermediateSize), u: make([]float32, N*c.IntermediateSize)}
	for i := range q.Blocks {
		segs := windows
		if q.Blocks[i].Full {
			segs = full
		}
		q.Blocks[i].forward(x, N, c.NumHeads, segs, cos, sin, s)
	}
	// PatchMerger: RMSNorm per patch, then each merge unit's 4 patches as one row.
	U := N / unit
	cpu.RMSNorm(s.h, x, q.MergeNorm, N, D, 1e-6)
	mid := make([]float32, U*unit*D)
	linear(mid, s.h, q.Merge1, q.Merge1B, U)
	cpu.GELU(mid)
	O := c.OutHiddenSize
	merged := make([]float32, U*O)
	linear(merged, mid, q.Merge2, q.Merge2B, U)
	rows := make([]float32, U*O) // back to the processor's order
	for i, u := range order {
		copy(rows[u*O:(u+1)*O], merged[i*O:(i+1)*O])
	}
	f := &Features{Rows: rows, N: U, Hidden: O, TokenID: q.TokenID, StartTokenID: q.StartTokenID, EndTokenID: q.EndTokenID,
		ImageSize: p.ImageSize, Grid: g}
	f.Positions, f.Span = imagePositions(g, m)
	return f, nil
}

// rotary returns the 2-D rotary cos and sin of every patch [N, headDim] in the
// processor's order: the first quarter of the head turns with the patch row,
// the second with its column, and the second half repeats the first.
func (q *QwenVision) rotary(g GridTHW) (cos, sin []float32) {
	m := q.Cfg.SpatialMergeSize
	hd := q.Cfg.HiddenSize / q.Cfg.NumHeads
	n4 := len(q.invFreq)
	N := g.T * g.H * g.W
	cos, sin = make([]float32, N*hd), make([]float32, N*hd)
	i := 0
	for range g.T {
		for by := 0; by < g.H/m; by++ {
			for bx := 0; bx < g.W/m; bx++ {
				for my := range m {
					for mx := range m {
						pos := [2]float32{float32(by*m + my), float32(bx*m + mx)}
						c, s := cos[i*hd:(i+1)*hd], sin[i*hd:(i+1)*hd]
						for a := range 2 {
							for j, f := range q.invFreq {
								ang := float64(pos[a] * f)
								cv, sv := float32(math.Cos(ang)), float32(math.Sin(ang))
								c[a*n4+j], c[hd/2+a*n4+j] = cv, cv
								s[a*n4+j], s[hd/2+a*n4+j] = sv, sv
							}
						}
						i++
					}
				}
			}
		}
	}
	return cos, sin
}

// windowIndex is transformers' get_vision_window_index for one image: the
// merge units (in the processor's order) regrouped window by window (each
// window w×w units, row by row, windows row by row; partial windows at the
// right and bottom edges), and the window boundaries in patches (cu_window_seqlens).
func windowIndex(g GridTHW, m, w int) (order []int, bounds []int) {
	lh, lw := g.H/m, g.W/m
	// transformers pads each side by w - n%w units (a whole empty window when
	// n is a multiple of w); empty windows are dropped below.
	nwh, nww := (lh+w-lh%w)/w, (lw+w-lw%w)/w
	bounds = []int{0}
	for t := range g.T {
		for wy := range nwh {
			for wx := range nww {
				n := 0
				for y := wy * w; y < min((wy+1)*w, lh); y++ {
					for x := wx * w; x < min((wx+1)*w, lw); x++ {
						order = append(order, t*lh*lw+y*lw+x)
						n++
					}
				}
				if n > 0 { // empty padding windows vanish (unique_consecutive)
					bounds = append(bounds, bounds[len(bounds)-1]+n*m*m)
				}
			}
		}
	}
	return order, bounds
}

// permuteUnits reorders x [units·unit, d] so that row block i is unit order[i].
func permuteUnits(x []float32, order []int, unit, d int) []float32 {
	out := make([]float32, len(x))
	n := unit * d
	for i, u := range order {
		copy(out[i*n:(i+1)*n], x[u*n:(u+1)*n])
	}
	return out
}

type qwenScratch struct{ h, qkv, q, k, v, a, g, u []float32 }

// forward updates x [N, D] in place: x += attn(RMSNorm x); x += SwiGLU(RMSNorm x).
// segs are the attention segment boundaries (windows, or the whole image).
func (b *qwenBlock) forward(x []float32, n, heads int, segs []int, cos, sin []float32, s *qwenScratch) {
	d := len(b.Norm1)
	hd := d / heads
	cpu.RMSNorm(s.h, x, b.Norm1, n, d, 1e-6)
	linear(s.qkv, s.h, b.QKV, b.QKVB, n)
	for i := range n {
		row := s.qkv[i*3*d:]
		copy(s.q[i*d:(i+1)*d], row[:d])
		copy(s.k[i*d:(i+1)*d], row[d:2*d])
		copy(s.v[i*d:(i+1)*d], row[2*d:3*d])
		c, sn := cos[i*hd:(i+1)*hd], sin[i*hd:(i+1)*hd]
		for h := range heads {
			rotateHalf(s.q[i*d+h*hd:i*d+(h+1)*hd], c, sn)
			rotateHalf(s.k[i*d+h*hd:i*d+(h+1)*hd], c, sn)
		}
	}
	for j := 0; j+1 < len(segs); j++ {
		a, e := segs[j]*d, segs[j+1]*d
		cnt := segs[j+1] - segs[j]
		cpu.Attention(s.a[a:e], s.q[a:e], s.k[a:e], s.v[a:e], cnt, 0, cnt, heads, heads, hd, cpu.Mask{Kind: cpu.Bidirectional})
	}
	linear(s.h, s.a, b.Proj, b.ProjB, n)
	cpu.Add(x, s.h)
	cpu.RMSNorm(s.h, x, b.Norm2, n, d, 1e-6)
	linear(s.g, s.h, b.Gate, b.GateB, n)
	linear(s.u, s.h, b.Up, b.UpB, n)
	cpu.SiLUMul(s.g, s.u)
	linear(s.h, s.g, b.Down, b.DownB, n)
	cpu.Add(x, s.h)
}

// rotateHalf applies x·cos + rotate_half(x)·sin to one head x [hd] in place,
// rotate_half(x) = (-x[hd/2:], x[:hd/2]).
func rotateHalf(x, cos, sin []float32) {
	h := len(x) / 2
	for i := range h {
		a, b := x[i], x[i+h]
		x[i] = a*cos[i] - b*sin[i]
		x[i+h] = b*cos[i+h] + a*sin[i+h]
	}
}
