package qwen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"dlmstream/engine/model"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// SDAR17B is the configuration of JetLM/SDAR-1.7B-Chat (Qwen3-1.7B
// dimensions, untied head, block size 4), used by benchmarks with random
// weights since no checkpoint can be downloaded here.
func SDAR17B() *model.Config {
	f := false
	mask := 151669
	return &model.Config{
		ModelType: "sdar", HiddenSize: 2048, NumLayers: 28, NumHeads: 16, NumKVHeads: 8, HeadDim: 128,
		IntermediateSize: 6144, VocabSize: 151936, RMSNormEps: 1e-6, RopeTheta: 1e6,
		MaxPositionEmbeddings: 40960, AttentionBias: &f, BlockSize: 4, MaskTokenID: &mask,
	}
}

// SDAR8B is SDAR-8B-Chat's config.json (Qwen3-8B dimensions).
func SDAR8B() *model.Config {
	c := SDAR17B()
	c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKVHeads, c.IntermediateSize = 4096, 36, 32, 8, 12288
	return c
}

// Random builds a model with seeded random weights held in memory. dtype is
// tensor.F32, tensor.BF16 or tensor.I8 (int8 is quantized from bf16). The
// config's model_type picks the family as Load would; tied controls whether
// the LM head shares the embedding. When the kernels prefer packed bf16
// weights (cpu.PreferPacked), bf16 weights are packed as Load packs them
// (the same values; the linear weights keep no row-major copy).
func Random(cfg *model.Config, seed uint64, dtype tensor.DType, tied bool) (*Model, error) {
	m, err := randomShell(cfg)
	if err != nil {
		return nil, err
	}
	qkNorm := m.traits.QKNorm
	H, D, I := cfg.HiddenSize, cfg.HeadDim, cfg.IntermediateSize
	qd, kvd := cfg.NumHeads*D, cfg.NumKVHeads*D
	stream := seed
	next := func() uint64 { stream++; return stream }
	// With kernels that run bf16 matmuls on packed weights (cpu.PreferPacked),
	// the weights are packed as Load packs them, so a benchmark measures that
	// path. A linear weight's row-major bits are made a block of rows at a
	// time and dropped: the model holds one copy of its weights, as a
	// loaded one does once the mapped pages it packed are released, and no
	// transient copy of the LM head (600 MB at SDAR-1.7B) raises the peak.
	packed := dtype == tensor.BF16 && cpu.PreferPacked()
	mat := func(rows, cols int) *model.Matrix {
		if !packed {
			w := randMatrix(rows, cols, dtype, next(), &m.arena)
			if dtype == tensor.I8 && cpu.PreferPackedInt8() {
				w.Pack(&m.arena) // as Load packs int8 linears
			}
			return w
		}
		stream := next()
		p := cpu.PackBF16From(&m.arena, rows, cols, func(r0, r1 int, dst []uint16) {
			fillRandom(r1-r0, cols, stream+uint64(r0)<<32, nil, dst)
		})
		return &model.Matrix{Rows: rows, Cols: cols, DType: tensor.BF16, Packed: p}
	}
	vec := func(n int, center float32) []float32 {
		r := rand.New(rand.NewPCG(seed, next()))
		v := make([]float32, n)
		for i := range v {
			v[i] = center + 0.1*float32(r.NormFloat64())
		}
		return v
	}
	// Untied, the embedding is a gather-only table, left unpacked as Load
	// leaves it; tied, the LM head multiplies it: packed, keeping its rows.
	m.Embed = randMatrix(cfg.VocabSize, H, dtype, next(), &m.arena)
	if tied && packed {
		m.Embed.Pack(&m.arena)
	}
	m.Layers = make([]Layer, cfg.NumLayers)
	for i := range m.Layers {
		l := &m.Layers[i]
		l.InputNorm, l.PostNorm = vec(H, 1), vec(H, 1)
		l.Q, l.K, l.V, l.O = mat(qd, H), mat(kvd, H), mat(kvd, H), mat(H, qd)
		l.Gate, l.Up, l.Down = mat(I, H), mat(I, H), mat(H, I)
		if *cfg.AttentionBias {
			l.QBias, l.KBias, l.VBias = vec(qd, 0), vec(kvd, 0), vec(kvd, 0)
		}
		if qkNorm {
			l.QNorm, l.KNorm = vec(D, 1), vec(D, 1)
		}
	}
	m.Norm = vec(H, 1)
	m.LMHead = m.Embed
	if !tied {
		m.LMHead = mat(cfg.VocabSize, H)
	}
	cfg.TieWordEmbeddings = tied
	return m, nil
}

// randomShell validates and completes cfg for a random model of its
// model_type and returns the model without weights.
func randomShell(cfg *model.Config) (*Model, error) {
	var qkNorm, shifted, diffusion bool
	switch cfg.ModelType {
	case "qwen2", "qwen2_5_vl_text":
	case "qwen3":
		qkNorm = true
	case "sdar":
		qkNorm, diffusion = true, true
	case "Fast_dLLM_Qwen", "Dream":
		shifted, diffusion = true, true
	case "llada":
		diffusion = true
	default:
		return nil, fmt.Errorf("qwen: random model: unknown model_type %q", cfg.ModelType)
	}
	if cfg.AttentionBias == nil {
		b := cfg.ModelType == "qwen2" || cfg.ModelType == "qwen2_5_vl_text" || cfg.ModelType == "Fast_dLLM_Qwen" || cfg.ModelType == "Dream"
		cfg.AttentionBias = &b
	}
	if cfg.HeadDim == 0 {
		cfg.HeadDim = cfg.HiddenSize / cfg.NumHeads
	}
	if cfg.NumKVHeads == 0 {
		cfg.NumKVHeads = cfg.NumHeads
	}
	if cfg.RopeTheta == 0 {
		cfg.RopeTheta = 10000
	}
	if cfg.RMSNormEps == 0 {
		cfg.RMSNormEps = 1e-6
	}
	if s := cfg.MRopeSection; s != nil && (len(s) != 3 || s[0]+s[1]+s[2] != cfg.HeadDim/2) {
		return nil, fmt.Errorf("qwen: random model: mrope_section %v does not split head_dim/2 = %d in three", s, cfg.HeadDim/2)
	}
	return newModel(cfg, qkNorm, shifted, diffusion), nil
}

// randMatrix fills a [rows, cols] matrix with uniform values of standard
// deviation 1/sqrt(cols) (so activations keep their scale), in parallel. Each
// element is a lookup into a 65536-entry table of evenly spaced values indexed
// by 16 random bits: cheap enough to build the 4 GB SDAR-1.7B model in seconds.
// Storage comes from a (off the Go heap, as a checkpoint's memory map is);
// int8 is quantized from a transient bf16 copy on the heap.
func randMatrix(rows, cols int, dtype tensor.DType, stream uint64, a *model.Arena) *model.Matrix {
	m := &model.Matrix{Rows: rows, Cols: cols, DType: tensor.F32}
	switch dtype {
	case tensor.F32:
		m.F32 = a.F32(rows * cols)
	case tensor.I8:
		m.DType = tensor.BF16
		m.BF16 = make([]uint16, rows*cols)
	default:
		m.DType = tensor.BF16
		m.BF16 = a.BF16(rows * cols)
	}
	fillRandom(rows, cols, stream, m.F32, m.BF16)
	if dtype == tensor.I8 {
		return m.ToInt8(a)
	}
	return m
}

// fillRandom writes randMatrix's values for (rows, cols, stream) into f32
// when it is set, else as bf16 bits into b16 (the same values rounded), both
// [rows*cols] row-major.
func fillRandom(rows, cols int, stream uint64, f32 []float32, b16 []uint16) {
	a := float32(math.Sqrt(3.0 / float64(cols)))
	var tabF [1 << 16]float32
	var tabB [1 << 16]uint16
	for i := range tabF {
		tabF[i] = a * (float32(i)/32768 - 1 + 1.0/65536)
	}
	cpu.F32ToBF16(tabB[:], tabF[:])
	workers := runtime.GOMAXPROCS(0)
	chunk := (rows + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, rows)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(stream, uint64(lo)))
			var bits uint64
			for i := lo * cols; i < hi*cols; i++ {
				if i&3 == 0 {
					bits = r.Uint64()
				}
				idx := uint16(bits)
				bits >>= 16
				if f32 != nil {
					f32[i] = tabF[idx]
				} else {
					b16[i] = tabB[idx]
				}
			}
		}()
	}
	wg.Wait()
}
