package vision

import (
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"

	"dlmstream/engine/model"
)

// Encoder turns an image into the embedding rows a language model reads at its
// image placeholders. Implementations are safe for concurrent use.
type Encoder interface {
	// Encode preprocesses img as the checkpoint's Hugging Face image processor
	// does and runs the vision tower and projector.
	Encode(img image.Image) (*Features, error)
	// NumTokens is how many image placeholder tokens an image of
	// width×height pixels takes (Features.N), without running the tower.
	NumTokens(width, height int) (int, error)
}

// Features are one image's rows for the language model and where they go in
// the prompt.
type Features struct {
	Rows   []float32 // [N, Hidden]: row i replaces the i-th image placeholder
	N      int       // rows = image placeholder tokens the prompt needs
	Hidden int       // the language model's hidden size

	// TokenID is the placeholder token (image_token_index / image_token_id).
	// The prompt holds, where the image goes: StartTokenID (when >= 0), N ×
	// TokenID, EndTokenID (when >= 0); see Placeholders.
	TokenID      int
	StartTokenID int // <|vision_start|> (Qwen2.5-VL); -1 when the layout has none
	EndTokenID   int // <|vision_end|> (Qwen2.5-VL); -1 when the layout has none

	// ImageSize is the image's (height, width) before preprocessing.
	ImageSize [2]int

	// Qwen2.5-VL only (zero for LLaVA-OneVision, whose rows take consecutive
	// 1-D positions like text):
	// Grid is image_grid_thw, in patches before the 2×2 merge.
	Grid GridTHW
	// Positions are the M-RoPE (temporal, height, width) position ids of the
	// N rows relative to the image's first position p: row i sits at
	// p + Positions[c][i] on axis c. The text after the image continues at
	// p + Span. RopeIndex computes a whole prompt's ids.
	Positions [3][]int
	Span      int

	// Layout are the rows that mark the image's layout rather than show
	// it (LLaVA-OneVision's image_newline after each row of the feature
	// map); pruning keeps them.
	Layout []int
}

// Placeholders are the prompt tokens that stand for the image, in order.
func (f *Features) Placeholders() []int {
	out := make([]int, 0, f.N+2)
	if f.StartTokenID >= 0 {
		out = append(out, f.StartTokenID)
	}
	for range f.N {
		out = append(out, f.TokenID)
	}
	if f.EndTokenID >= 0 {
		out = append(out, f.EndTokenID)
	}
	return out
}

// Row returns row i [Hidden].
func (f *Features) Row(i int) []float32 { return f.Rows[i*f.Hidden : (i+1)*f.Hidden] }

// Model is a loaded vision side and the weights it reads.
type Model struct {
	Encoder
	owned *model.Weights
}

// Close releases the weights when Load opened them.
func (m *Model) Close() error {
	if m.owned != nil {
		return m.owned.Close()
	}
	return nil
}

// Load opens dir's weights and reads its vision side: a LLaVA-OneVision
// checkpoint (model_type "llava_onevision": SDAR-VL, demo-vision) or a
// Qwen2.5-VL one (model_type "qwen2_5_vl": Fast-dVLM, DiffusionVL), with its
// preprocessor_config.json. The tower aliases the memory map; Close releases it.
func Load(dir string) (*Model, error) { return LoadWith(dir, model.LoadOptions{}) }

// LoadWith is Load whose matrices follow opts (model.LoadOptions: weight
// type, Exact kernels).
func LoadWith(dir string, opts model.LoadOptions) (*Model, error) {
	w, err := model.OpenWeightsWith(dir, opts)
	if err != nil {
		return nil, err
	}
	m, err := LoadFrom(dir, w)
	if err != nil {
		w.Close()
		return nil, err
	}
	m.owned = w
	return m, nil
}

// LoadFrom reads dir's vision side from already open weights (the engine's,
// so that the tower and the language model share one memory map). Closing the
// returned Model does not close w.
func LoadFrom(dir string, w *model.Weights) (*Model, error) {
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	proc, err := LoadProcessorConfig(dir)
	if err != nil {
		return nil, err
	}
	var e Encoder
	switch head.ModelType {
	case "llava_onevision":
		e, err = loadLlava(b, w, proc)
	case "qwen2_5_vl":
		e, err = loadQwen(b, w, proc)
	default:
		return nil, fmt.Errorf("%s: model_type %q has no vision side here (llava_onevision, qwen2_5_vl)", p, head.ModelType)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Model{Encoder: e}, nil
}
