package vision

import (
	"path/filepath"
	"testing"
)

// TestQwenMatchesTransformers compares Encode on tiny-qwen25vl (decode, smart_resize,
// patches, window attention with full-attention blocks, 2-D rotary, PatchMerger) with
// transformers' Qwen2_5_VLModel.get_image_features, and RopeIndex with get_rope_index
// on a prompt holding the image between <|vision_start|> and <|vision_end|>.
func TestQwenMatchesTransformers(t *testing.T) {
	var g struct {
		Cases []struct {
			Image     string   `json:"image"`
			Grid      []int    `json:"grid_thw"`
			Features  f32Array `json:"features"`
			InputIDs  []int    `json:"input_ids"`
			Positions [][]int  `json:"position_ids"`
			Delta     int      `json:"rope_delta"`
		} `json:"cases"`
	}
	readGolden(t, "qwen.json", &g)
	m, err := Load(filepath.Join(modelsDir, "tiny-qwen25vl"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	q := m.Encoder.(*QwenVision)
	const tol = 1e-4
	for _, c := range g.Cases {
		t.Run(c.Image, func(t *testing.T) {
			img := goldenImage(t, c.Image)
			f, err := q.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			if gr := []int{f.Grid.T, f.Grid.H, f.Grid.W}; !equalInts(gr, c.Grid) {
				t.Fatalf("grid %v, want %v", gr, c.Grid)
			}
			want := c.Features.values(t)
			if f.N != c.Features.Shape[0] || f.Hidden != c.Features.Shape[1] {
				t.Fatalf("features %dx%d, want %v", f.N, f.Hidden, c.Features.Shape)
			}
			if n, err := q.NumTokens(img.W, img.H); err != nil || n != f.N {
				t.Errorf("NumTokens = %d, %v; want %d", n, err, f.N)
			}
			mx, mean := diff(f.Rows, want)
			t.Logf("%d rows (grid %v): max |diff| %.2e, mean %.2e (scale %.2f)", f.N, c.Grid, mx, mean, scaleOf(want))
			if mx > tol {
				t.Errorf("max |diff| %.3g > %g", mx, tol)
			}
			// The prompt's placeholders and M-RoPE ids.
			ph := f.Placeholders()
			if ph[0] != q.StartTokenID || ph[len(ph)-1] != q.EndTokenID || len(ph) != f.N+2 {
				t.Errorf("placeholders %v...", ph[:2])
			}
			pos, delta, err := RopeIndex(c.InputIDs, q.TokenID, []GridTHW{f.Grid}, q.Cfg.SpatialMergeSize)
			if err != nil {
				t.Fatal(err)
			}
			for a := range 3 {
				if !equalInts(pos[a], c.Positions[a]) {
					t.Fatalf("position ids axis %d = %v, want %v", a, pos[a], c.Positions[a])
				}
			}
			if delta != c.Delta {
				t.Errorf("rope delta %d, want %d", delta, c.Delta)
			}
			// Features.Positions are the image's part, relative to its first position.
			start := 4 // the prompt's image starts after 1, 10, 11, <|vision_start|>
			for a := range 3 {
				for i, p := range f.Positions[a] {
					if c.Positions[a][start+i] != c.Positions[a][start-1]+1+p {
						t.Fatalf("Positions[%d][%d] = %d does not match get_rope_index", a, i, p)
					}
				}
			}
			if after := c.Positions[0][start+f.N+1]; after != c.Positions[0][start-1]+1+f.Span+1 {
				t.Errorf("Span %d: text after <|vision_end|> at %d", f.Span, after)
			}
		})
	}
}
