package vision

import (
	"encoding/json"
	"fmt"
	"image"
	"strconv"
	"strings"

	"dlmstream/engine/model"
)

// LlavaOnevision is the vision side of a LLaVA-OneVision checkpoint (SDAR-VL,
// demo-vision): anyres preprocessing, a SigLIP tower, the 2-layer MLP
// projector and transformers' pack_image_features (base image, anyres tiles
// unpadded and, above anyres_max_N, shrunk bilinearly, image_newline after
// every row). Dv = vision hidden size, D = language-model hidden size.
type LlavaOnevision struct {
	Tower *Siglip
	Proc  *ProcessorConfig
	// FeatureLayers are the hidden states fed to the projector, concatenated
	// (vision_feature_layer; -1 = last layer before post_layernorm).
	FeatureLayers []int
	// Strategy is vision_feature_select_strategy: "full" keeps every patch,
	// "default" drops the first (a CLS position, which SigLIP does not have:
	// transformers then refuses to pack anyres features, and so does Encode).
	Strategy string
	// Pinpoints are the model's image_grid_pinpoints, (height, width).
	Pinpoints [][2]int
	// MaxPatches is N of vision_aspect_ratio "anyres_max_N".
	MaxPatches int
	TokenID    int // image_token_index

	Proj1   *model.Matrix // [D, Dv*len(FeatureLayers)]
	Proj1B  []float32     // [D]
	Proj2   *model.Matrix // [D, D]
	Proj2B  []float32     // [D]
	Act     func([]float32)
	Newline []float32 // [D] image_newline
	Hidden  int       // D
}

// llavaConfig is the part of a LLaVA-OneVision config.json read here.
type llavaConfig struct {
	VisionConfig json.RawMessage `json:"vision_config"`
	TextConfig   struct {
		HiddenSize int `json:"hidden_size"`
	} `json:"text_config"`
	ImageTokenIndex    *int            `json:"image_token_index"`
	ImageTokenID       *int            `json:"image_token_id"`
	ProjectorHiddenAct string          `json:"projector_hidden_act"`
	Strategy           string          `json:"vision_feature_select_strategy"`
	FeatureLayer       json.RawMessage `json:"vision_feature_layer"`
	ProjectorBias      *bool           `json:"multimodal_projector_bias"`
	Pinpoints          [][]int         `json:"image_grid_pinpoints"`
	AspectRatio        string          `json:"vision_aspect_ratio"`
}

// loadLlava reads a LLaVA-OneVision vision side from config.json b and weights w.
func loadLlava(b []byte, w *model.Weights, proc *ProcessorConfig) (*LlavaOnevision, error) {
	var c llavaConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	sc, err := parseSiglipConfig(c.VisionConfig)
	if err != nil {
		return nil, err
	}
	m := &LlavaOnevision{Proc: proc, Strategy: "full", TokenID: 151646, MaxPatches: 9, Hidden: c.TextConfig.HiddenSize}
	if m.Hidden <= 0 {
		return nil, fmt.Errorf("llava_onevision: text_config.hidden_size missing")
	}
	if c.ImageTokenIndex != nil {
		m.TokenID = *c.ImageTokenIndex
	} else if c.ImageTokenID != nil {
		m.TokenID = *c.ImageTokenID
	}
	if c.Strategy != "" {
		m.Strategy = c.Strategy
	}
	if m.Strategy != "full" && m.Strategy != "default" {
		return nil, fmt.Errorf("llava_onevision: vision_feature_select_strategy %q (want full or default)", m.Strategy)
	}
	m.FeatureLayers = []int{-1}
	if len(c.FeatureLayer) > 0 && string(c.FeatureLayer) != "null" {
		var one int
		if json.Unmarshal(c.FeatureLayer, &one) == nil {
			m.FeatureLayers = []int{one}
		} else if err := json.Unmarshal(c.FeatureLayer, &m.FeatureLayers); err != nil || len(m.FeatureLayers) == 0 {
			return nil, fmt.Errorf("llava_onevision: vision_feature_layer %s is not an integer or a list of integers", c.FeatureLayer)
		}
	}
	if c.AspectRatio != "" {
		// transformers: int(vision_aspect_ratio.strip("anyres_max_")).
		n, err := strconv.Atoi(strings.Trim(c.AspectRatio, "anyres_max_"))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("llava_onevision: vision_aspect_ratio %q is not anyres_max_N", c.AspectRatio)
		}
		m.MaxPatches = n
	}
	for _, p := range c.Pinpoints {
		if len(p) != 2 || p[0] <= 0 || p[1] <= 0 {
			return nil, fmt.Errorf("llava_onevision: image_grid_pinpoints entry %v", p)
		}
		m.Pinpoints = append(m.Pinpoints, [2]int{p[0], p[1]})
	}
	if len(m.Pinpoints) == 0 {
		m.Pinpoints = defaultPinpoints()
	}
	act := c.ProjectorHiddenAct
	if act == "" {
		act = "gelu"
	}
	if m.Act = activations[act]; m.Act == nil {
		return nil, fmt.Errorf("llava_onevision: projector_hidden_act %q is not supported", act)
	}
	if proc.Kind != KindLlavaOnevision && proc.Kind != KindSiglip {
		return nil, fmt.Errorf("llava_onevision: image processor %s", proc.Kind)
	}
	vp := firstPrefix(w, "embeddings.patch_embedding.weight", "vision_tower.vision_model.", "vision_tower.", "model.vision_tower.vision_model.", "model.vision_tower.")
	if vp == "" {
		return nil, fmt.Errorf("llava_onevision: no vision tower weights (vision_tower.* or model.vision_tower.*)")
	}
	if m.Tower, err = loadSiglip(w, vp, sc); err != nil {
		return nil, err
	}
	pp := firstPrefix(w, "linear_1.weight", "multi_modal_projector.", "model.multi_modal_projector.")
	if pp == "" {
		return nil, fmt.Errorf("llava_onevision: no projector weights (multi_modal_projector.*)")
	}
	D, in := m.Hidden, sc.HiddenSize*len(m.FeatureLayers)
	l := &loader{w: w, prefix: pp}
	m.Proj1, m.Proj2 = l.mat("linear_1.weight", D, in), l.mat("linear_2.weight", D, D)
	if c.ProjectorBias == nil || *c.ProjectorBias {
		m.Proj1B, m.Proj2B = l.vec("linear_1.bias", D), l.vec("linear_2.bias", D)
	}
	switch {
	case w.Has("image_newline"):
		l.prefix = ""
	case w.Has("model.image_newline"):
		l.prefix = "model."
	default:
		return nil, fmt.Errorf("llava_onevision: no image_newline tensor")
	}
	m.Newline = l.vec("image_newline", D)
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

// firstPrefix is the first prefix under which w stores name, or "".
func firstPrefix(w *model.Weights, name string, prefixes ...string) string {
	for _, p := range prefixes {
		if w.Has(p + name) {
			return p
		}
	}
	return ""
}

// Encode preprocesses img (any image.Image, converted with ToRGB) as the
// checkpoint's image processor does, runs the tower on every crop and packs
// the rows.
func (m *LlavaOnevision) Encode(img image.Image) (*Features, error) {
	rgb := ToRGB(img)
	var crops *Crops
	var err error
	if m.Proc.Kind == KindSiglip {
		crops, err = m.Proc.Plain(rgb)
	} else {
		crops, err = m.Proc.Anyres(rgb)
	}
	if err != nil {
		return nil, err
	}
	return m.EncodeCrops(crops)
}

// EncodeCrops runs the tower and projector on preprocessed crops and packs
// the rows as transformers' LlavaOnevisionModel.get_image_features does.
func (m *LlavaOnevision) EncodeCrops(c *Crops) (*Features, error) {
	sc := m.Tower.Cfg
	if c.H != sc.ImageSize || c.W != sc.ImageSize {
		return nil, fmt.Errorf("llava_onevision: crops are %dx%d, the tower takes %dx%d", c.W, c.H, sc.ImageSize, sc.ImageSize)
	}
	D, Dv := m.Hidden, sc.HiddenSize
	G := sc.Grid()
	n := G * G
	skip := 0
	if m.Strategy == "default" {
		skip = 1
	}
	perCrop := n - skip
	in := make([]float32, perCrop*Dv*len(m.FeatureLayers))
	proj := make([]float32, c.N*perCrop*D) // [crops, perCrop, D]
	hid := make([]float32, perCrop*D)
	for i := range c.N {
		out, err := m.Tower.Forward(c.Crop(i), m.FeatureLayers, false)
		if err != nil {
			return nil, err
		}
		// Concatenate the selected layers along the feature axis: [perCrop, Dv*layers].
		w := Dv * len(m.FeatureLayers)
		for j, layer := range m.FeatureLayers {
			h := out.Hidden[layer]
			for t := range perCrop {
				copy(in[t*w+j*Dv:t*w+(j+1)*Dv], h[(t+skip)*Dv:(t+skip+1)*Dv])
			}
		}
		linear(hid, in, m.Proj1, m.Proj1B, perCrop)
		m.Act(hid)
		linear(proj[i*perCrop*D:(i+1)*perCrop*D], hid, m.Proj2, m.Proj2B, perCrop)
	}
	rows, layout, err := m.pack(proj, c.N, perCrop, c.ImageSize)
	if err != nil {
		return nil, err
	}
	return &Features{Rows: rows, N: len(rows) / D, Hidden: D, TokenID: m.TokenID, StartTokenID: -1, EndTokenID: -1,
		ImageSize: c.ImageSize, Layout: layout}, nil
}

// pack is pack_image_features for one image: feats [crops, perCrop, D];
// it returns the rows [n, D] and which of them are image_newline.
func (m *LlavaOnevision) pack(feats []float32, crops, perCrop int, size [2]int) ([]float32, []int, error) {
	D := m.Hidden
	if crops == 1 {
		out := append([]float32(nil), feats[:perCrop*D]...)
		return append(out, m.Newline...), []int{perCrop}, nil
	}
	sc := m.Tower.Cfg
	g := sc.Grid()
	if g*g != perCrop {
		return nil, nil, fmt.Errorf("llava_onevision: %d features per crop, not the %dx%d patch grid (vision_feature_select_strategy %q); transformers refuses too: the number of patches is not consistent with the image size",
			perCrop, g, g, m.Strategy)
	}
	best := SelectBestResolution(size[0], size[1], m.Pinpoints)
	nph, npw := best[0]/sc.ImageSize, best[1]/sc.ImageSize
	if nph*npw != crops-1 {
		return nil, nil, fmt.Errorf("llava_onevision: %d anyres tiles, but the model's grid for a %dx%d image is %dx%d (processor and model image_grid_pinpoints differ?)",
			crops-1, size[1], size[0], npw, nph)
	}
	// The tiles as one feature map [H, W, D], H = nph·g, W = npw·g.
	H, W := nph*g, npw*g
	grid := make([]float32, H*W*D)
	for ty := range nph {
		for tx := range npw {
			tile := feats[(1+ty*npw+tx)*perCrop*D:]
			for y := range g {
				for x := range g {
					copy(grid[((ty*g+y)*W+tx*g+x)*D:][:D], tile[(y*g+x)*D:][:D])
				}
			}
		}
	}
	// unpad_image: drop the rows or columns that were black padding.
	y0, y1, x0, x1 := unpad(size[0], size[1], H, W)
	h, w := y1-y0, x1-x0
	fm := make([]float32, h*w*D)
	for y := range h {
		copy(fm[y*w*D:(y+1)*w*D], grid[((y0+y)*W+x0)*D:][:w*D])
	}
	// anyres_max_N: shrink a map larger than N base grids (by more than 10%).
	if ratio := sqrt(float64(h*w) / float64(m.MaxPatches*g*g)); ratio > 1.1 && h > 0 && w > 0 {
		nh, nw := int(floorDiv(float64(h), ratio)), int(floorDiv(float64(w), ratio))
		fm = bilinear(fm, h, w, nh, nw, D)
		h, w = nh, nw
	}
	out := make([]float32, 0, (perCrop+h*(w+1))*D)
	out = append(out, feats[:perCrop*D]...)
	layout := make([]int, 0, h)
	for y := range h {
		out = append(out, fm[y*w*D:(y+1)*w*D]...)
		layout = append(layout, len(out)/D)
		out = append(out, m.Newline...)
	}
	return out, layout, nil
}

// NumTokens is the number of image placeholders an image of width×height
// pixels needs (transformers' LlavaOnevisionProcessor count, which equals the
// rows Encode returns), without running the tower.
func (m *LlavaOnevision) NumTokens(width, height int) (int, error) {
	if width <= 0 || height <= 0 {
		return 0, fail(ReasonEmpty, "image has %dx%d pixels", width, height)
	}
	g := m.Tower.Cfg.Grid()
	base := g * g
	if m.Strategy == "default" {
		base--
	}
	if m.Proc.Kind == KindSiglip {
		return base + 1, nil
	}
	best := SelectBestResolution(height, width, m.Pinpoints)
	H, W := best[0]/m.Tower.Cfg.ImageSize*g, best[1]/m.Tower.Cfg.ImageSize*g
	y0, y1, x0, x1 := unpad(height, width, H, W)
	h, w := y1-y0, x1-x0
	if ratio := sqrt(float64(h*w) / float64(m.MaxPatches*g*g)); ratio > 1.1 {
		h, w = int(floorDiv(float64(h), ratio)), int(floorDiv(float64(w), ratio))
	}
	return base + h*w + h, nil
}
