package vision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

func perSecond(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

func BenchmarkDecodePNG(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "images", "photo-640x480.png"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Decode(data, DecodeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	perSecond(b, "images/s")
}

// BenchmarkPreprocess: 640×480 photo through the SDAR-VL processor (384 px,
// 36 pinpoints up to 2304², CLIP-style anyres: 1 + 4 crops here), the
// Qwen2-VL default processor, and a plain bicubic resize.
func BenchmarkPreprocess(b *testing.B) {
	img := goldenImage(b, "photo-640x480.png")
	sdarVL, _ := ParseProcessorConfig([]byte(`{"image_processor_type":"LlavaOnevisionImageProcessor","image_mean":[0.5,0.5,0.5],"image_std":[0.5,0.5,0.5]}`))
	qwen, _ := ParseProcessorConfig([]byte(`{"image_processor_type":"Qwen2VLImageProcessor"}`))
	b.Run("anyres-384", func(b *testing.B) {
		for b.Loop() {
			if _, err := sdarVL.Anyres(img); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "images/s")
	})
	b.Run("qwen2vl", func(b *testing.B) {
		for b.Loop() {
			if _, err := qwen.QwenPatches(img); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "images/s")
	})
	b.Run("resize-bicubic-384", func(b *testing.B) {
		for b.Loop() {
			if _, err := Resize(img, 384, 384, Bicubic); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "images/s")
	})
}

// BenchmarkEncode: preprocessing + tower + projector on the bundled checkpoints.
func BenchmarkEncode(b *testing.B) {
	img := goldenImage(b, "photo-640x480.png")
	for _, name := range []string{"demo-vision", "tiny-sdar-vl", "tiny-qwen25vl"} {
		b.Run(name, func(b *testing.B) {
			m, err := Load(filepath.Join(modelsDir, name))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			for b.Loop() {
				if _, err := m.Encode(img); err != nil {
					b.Fatal(err)
				}
			}
			perSecond(b, "images/s")
		})
	}
}

// BenchmarkTowerAtScale runs random bf16 towers at the real models' sizes:
// SigLIP-so400m (SDAR-VL: 27 layers, 1152 wide, one 384×384 crop of 729
// patches; an anyres image is 1 + up to 9 such crops) and the Qwen2.5-VL-3B
// ViT (32 layers, 1280 wide, a 224×224 image = 256 patches, 64 rows).
func BenchmarkTowerAtScale(b *testing.B) {
	b.Run("siglip-so400m/crop-384", func(b *testing.B) {
		s := randomSiglip(SiglipConfig{HiddenSize: 1152, IntermediateSize: 4304, NumLayers: 27, NumHeads: 16, NumChannels: 3,
			ImageSize: 384, PatchSize: 14, LayerNormEps: 1e-6, HiddenAct: "gelu_pytorch_tanh"})
		px := make([]float32, 3*384*384)
		for b.Loop() {
			if _, err := s.Forward(px, []int{-1}, false); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "crops/s")
	})
	b.Run("qwen2.5-vl-3b/224x224", func(b *testing.B) {
		q := randomQwen(QwenVisionConfig{Depth: 32, HiddenSize: 1280, HiddenAct: "silu", IntermediateSize: 3420, NumHeads: 16,
			InChannels: 3, PatchSize: 14, SpatialMergeSize: 2, TemporalPatchSize: 2, WindowSize: 112, OutHiddenSize: 2048,
			FullAttBlocks: []int{7, 15, 23, 31}})
		p := &Patches{N: 256, Dim: 1176, Pixels: make([]float32, 256*1176), Grid: GridTHW{1, 16, 16}}
		for b.Loop() {
			if _, err := q.EncodePatches(p); err != nil {
				b.Fatal(err)
			}
		}
		perSecond(b, "images/s")
	})
}

var benchRand = rand.New(rand.NewPCG(1, 2))

func randMat(rows, cols int) *model.Matrix {
	m := &model.Matrix{Rows: rows, Cols: cols, DType: tensor.BF16, BF16: make([]uint16, rows*cols)}
	tmp := make([]float32, cols)
	s := float32(1 / float64(cols))
	for r := range rows {
		for i := range tmp {
			tmp[i] = (benchRand.Float32()*2 - 1) * s
		}
		cpu.F32ToBF16(m.BF16[r*cols:(r+1)*cols], tmp)
	}
	return m
}

func randVec(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func randomSiglip(c SiglipConfig) *Siglip {
	D, I, P := c.HiddenSize, c.IntermediateSize, c.PatchSize
	N := c.Grid() * c.Grid()
	s := &Siglip{Cfg: c, PatchEmbed: randMat(D, 3*P*P), PatchBias: randVec(D, 0), Pos: randMat(N, D),
		PostNormW: randVec(D, 1), PostNormB: randVec(D, 0)}
	for range c.NumLayers {
		s.Layers = append(s.Layers, siglipLayer{Norm1W: randVec(D, 1), Norm1B: randVec(D, 0), Q: randMat(D, D), K: randMat(D, D),
			V: randMat(D, D), O: randMat(D, D), QB: randVec(D, 0), KB: randVec(D, 0), VB: randVec(D, 0), OB: randVec(D, 0),
			Norm2W: randVec(D, 1), Norm2B: randVec(D, 0), FC1: randMat(I, D), FC1B: randVec(I, 0), FC2: randMat(D, I), FC2B: randVec(D, 0)})
	}
	return s
}

func randomQwen(c QwenVisionConfig) *QwenVision {
	D, I, M := c.HiddenSize, c.IntermediateSize, 4*c.HiddenSize
	raw := fmt.Sprintf(`{"depth":%d,"hidden_size":%d,"intermediate_size":%d,"num_heads":%d,"out_hidden_size":%d}`, c.Depth, D, I, c.NumHeads, c.OutHiddenSize)
	cfg, err := parseQwenVisionConfig([]byte(raw))
	if err != nil {
		panic(err)
	}
	q := &QwenVision{Cfg: cfg, PatchEmbed: randMat(D, 1176), MergeNorm: randVec(D, 1), Merge1: randMat(M, M), Merge1B: randVec(M, 0),
		Merge2: randMat(c.OutHiddenSize, M), Merge2B: randVec(c.OutHiddenSize, 0)}
	for i := range c.Depth {
		q.Blocks = append(q.Blocks, qwenBlock{Norm1: randVec(D, 1), Norm2: randVec(D, 1), QKV: randMat(3*D, D), QKVB: randVec(3*D, 0),
			Proj: randMat(D, D), ProjB: randVec(D, 0), Gate: randMat(I, D), GateB: randVec(I, 0), Up: randMat(I, D), UpB: randVec(I, 0),
			Down: randMat(D, I), DownB: randVec(D, 0), Full: i%8 == 7})
	}
	hd := D / c.NumHeads
	q.invFreq = make([]float32, hd/4)
	for i := range q.invFreq {
		q.invFreq[i] = 1 / float32(math.Pow(10000, float64(2*i)/float64(hd/2)))
	}
	return q
}
