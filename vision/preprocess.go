package vision

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Mean and standard deviation constants of transformers' image_utils.
var (
	CLIPMean     = [3]float32{0.48145466, 0.4578275, 0.40821073} // OPENAI_CLIP_MEAN
	CLIPStd      = [3]float32{0.26862954, 0.26130258, 0.27577711}
	StandardMean = [3]float32{0.5, 0.5, 0.5} // IMAGENET_STANDARD_MEAN (SigLIP)
	StandardStd  = [3]float32{0.5, 0.5, 0.5}
)

// Processor kinds, by preprocessor_config.json's image_processor_type (with or
// without transformers' "Fast"/"Pil" backend suffix).
const (
	KindLlavaOnevision = "LlavaOnevisionImageProcessor"
	KindSiglip         = "SiglipImageProcessor"
	KindQwen2VL        = "Qwen2VLImageProcessor"
)

// Size is a preprocessor_config.json "size": Height×Width, or ShortestEdge
// (Qwen2-VL: min pixels) with LongestEdge (max pixels).
type Size struct {
	Height       int `json:"height"`
	Width        int `json:"width"`
	ShortestEdge int `json:"shortest_edge"`
	LongestEdge  int `json:"longest_edge"`
}

// ProcessorConfig is a Hugging Face image processor's configuration with the
// class defaults of transformers 5 filled in. Its methods preprocess like the
// PIL backend of that class (the one transformers picks without torchvision).
type ProcessorConfig struct {
	Kind          string
	Resize        bool
	Size          Size
	Resample      Resample
	Rescale       bool
	RescaleFactor float64
	Normalize     bool
	Mean, Std     [3]float32
	Pad           bool
	// GridPinpoints are the anyres resolutions, each (height, width).
	GridPinpoints [][2]int
	// Qwen2-VL patching.
	PatchSize, TemporalPatchSize, MergeSize int
}

// LoadProcessorConfig reads dir/preprocessor_config.json.
func LoadProcessorConfig(dir string) (*ProcessorConfig, error) {
	p := filepath.Join(dir, "preprocessor_config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	c, err := ParseProcessorConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return c, nil
}

// ParseProcessorConfig decodes a preprocessor_config.json body.
func ParseProcessorConfig(b []byte) (*ProcessorConfig, error) {
	var raw struct {
		Type              string      `json:"image_processor_type"`
		DoResize          *bool       `json:"do_resize"`
		Size              *Size       `json:"size"`
		Resample          *int        `json:"resample"`
		DoRescale         *bool       `json:"do_rescale"`
		RescaleFactor     *float64    `json:"rescale_factor"`
		DoNormalize       *bool       `json:"do_normalize"`
		Mean              []float64   `json:"image_mean"`
		Std               []float64   `json:"image_std"`
		DoPad             *bool       `json:"do_pad"`
		DoCenterCrop      *bool       `json:"do_center_crop"`
		Pinpoints         [][]int     `json:"image_grid_pinpoints"`
		MinPixels         *int        `json:"min_pixels"`
		MaxPixels         *int        `json:"max_pixels"`
		PatchSize         *int        `json:"patch_size"`
		TemporalPatchSize *int        `json:"temporal_patch_size"`
		MergeSize         *int        `json:"merge_size"`
		CropSize          interface{} `json:"crop_size"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	kind := strings.TrimSuffix(strings.TrimSuffix(raw.Type, "Fast"), "Pil")
	c := &ProcessorConfig{Kind: kind, Resize: true, Resample: Bicubic, Rescale: true, RescaleFactor: 1.0 / 255, Normalize: true}
	switch kind {
	case KindLlavaOnevision:
		c.Size, c.Mean, c.Std, c.Pad = Size{Height: 384, Width: 384}, CLIPMean, CLIPStd, true
		c.GridPinpoints = defaultPinpoints()
	case KindSiglip:
		c.Size, c.Mean, c.Std = Size{Height: 224, Width: 224}, StandardMean, StandardStd
	case KindQwen2VL:
		c.Size, c.Mean, c.Std = Size{ShortestEdge: 56 * 56, LongestEdge: 28 * 28 * 1280}, CLIPMean, CLIPStd
		c.PatchSize, c.TemporalPatchSize, c.MergeSize = 14, 2, 2
	default:
		return nil, fmt.Errorf("image_processor_type %q is not supported (%s, %s, %s)", raw.Type, KindLlavaOnevision, KindSiglip, KindQwen2VL)
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setBool(&c.Resize, raw.DoResize)
	setBool(&c.Rescale, raw.DoRescale)
	setBool(&c.Normalize, raw.DoNormalize)
	setBool(&c.Pad, raw.DoPad)
	if raw.DoCenterCrop != nil && *raw.DoCenterCrop {
		return nil, fmt.Errorf("do_center_crop is not supported")
	}
	if raw.Size != nil {
		c.Size = *raw.Size
	}
	if raw.Resample != nil {
		c.Resample = Resample(*raw.Resample)
		if _, ok := filters[c.Resample]; !ok && c.Resample != Nearest {
			return nil, fmt.Errorf("resample %d is not a PIL filter", *raw.Resample)
		}
	}
	if raw.RescaleFactor != nil {
		c.RescaleFactor = *raw.RescaleFactor
	}
	for name, src := range map[string][]float64{"image_mean": raw.Mean, "image_std": raw.Std} {
		if src == nil {
			continue
		}
		if len(src) != 3 {
			return nil, fmt.Errorf("%s has %d values, want 3", name, len(src))
		}
		dst := &c.Mean
		if name == "image_std" {
			dst = &c.Std
		}
		for i, v := range src {
			dst[i] = float32(v)
		}
	}
	for i, v := range c.Std {
		if v == 0 || math.IsNaN(float64(v)) {
			return nil, fmt.Errorf("image_std[%d] = %v", i, v)
		}
	}
	if raw.Pinpoints != nil {
		c.GridPinpoints = nil
		for _, p := range raw.Pinpoints {
			if len(p) != 2 || p[0] <= 0 || p[1] <= 0 {
				return nil, fmt.Errorf("image_grid_pinpoints entry %v is not a (height, width) pair", p)
			}
			c.GridPinpoints = append(c.GridPinpoints, [2]int{p[0], p[1]})
		}
	}
	switch kind {
	case KindQwen2VL:
		if raw.MinPixels != nil {
			c.Size.ShortestEdge = *raw.MinPixels
		}
		if raw.MaxPixels != nil {
			c.Size.LongestEdge = *raw.MaxPixels
		}
		for _, f := range []struct {
			dst *int
			v   *int
		}{{&c.PatchSize, raw.PatchSize}, {&c.TemporalPatchSize, raw.TemporalPatchSize}, {&c.MergeSize, raw.MergeSize}} {
			if f.v != nil {
				*f.dst = *f.v
			}
		}
		if c.PatchSize <= 0 || c.TemporalPatchSize <= 0 || c.MergeSize <= 0 || c.Size.ShortestEdge <= 0 || c.Size.LongestEdge < c.Size.ShortestEdge {
			return nil, fmt.Errorf("bad Qwen2-VL sizes: patch %d, temporal %d, merge %d, pixels %d..%d",
				c.PatchSize, c.TemporalPatchSize, c.MergeSize, c.Size.ShortestEdge, c.Size.LongestEdge)
		}
	default:
		if c.Size.Height <= 0 || c.Size.Width <= 0 {
			return nil, fmt.Errorf("size %+v: want height and width", c.Size)
		}
		if kind == KindLlavaOnevision && len(c.GridPinpoints) == 0 {
			return nil, fmt.Errorf("no image_grid_pinpoints")
		}
	}
	return c, nil
}

// defaultPinpoints is LlavaOnevisionImageProcessor's default grid: multiples of
// 384 from 384 to 2304 on each side.
func defaultPinpoints() [][2]int {
	var p [][2]int
	for h := 384; h <= 2304; h += 384 {
		for w := 384; w <= 2304; w += 384 {
			p = append(p, [2]int{h, w})
		}
	}
	return p
}

// normalize writes one image's pixels as float32 planes [3, H, W]: rescale
// (in float64, then float32, as numpy's rescale) and normalize ((x-mean)/std
// in float32), as transformers' PIL backend does.
func (c *ProcessorConfig) normalize(dst []float32, m *RGB) {
	n := m.W * m.H
	var lut [3][256]float32
	for ch := range 3 {
		for u := range 256 {
			v := float32(u)
			if c.Rescale {
				v = float32(float64(u) * c.RescaleFactor)
			}
			if c.Normalize {
				v = (v - c.Mean[ch]) / c.Std[ch]
			}
			lut[ch][u] = v
		}
	}
	for i := range n {
		p := m.Pix[3*i:]
		dst[i] = lut[0][p[0]]
		dst[n+i] = lut[1][p[1]]
		dst[2*n+i] = lut[2][p[2]]
	}
}
