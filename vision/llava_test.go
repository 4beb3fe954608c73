package vision

import (
	"dlmstream/engine/model"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const modelsDir = "../testdata/models"

// TestLlavaMatchesTransformers compares Encode (decode the PNG, anyres
// preprocessing, SigLIP, projector, pack_image_features) with transformers'
// LlavaOnevisionModel.get_image_features on demo-vision (bf16 weights, run in fp32 by
// both) and tiny-sdar-vl (fp32, ten grid pinpoints, anyres_max_9 interpolation),
// including vision_feature_layer -2 and the "default" strategy transformers refuses.
func TestLlavaMatchesTransformers(t *testing.T) {
	var g struct {
		Cases []struct {
			Model      string   `json:"model"`
			Image      string   `json:"image"`
			Layer      int      `json:"vision_feature_layer"`
			Strategy   string   `json:"vision_feature_select_strategy"`
			ImageSizes []int    `json:"image_sizes"`
			Features   f32Array `json:"features"`
			NumTokens  int      `json:"processor_num_image_tokens"`
			Error      string   `json:"error"`
		} `json:"cases"`
	}
	readGolden(t, "llava.json", &g)
	models := map[string]*LlavaOnevision{}
	for _, name := range []string{"demo-vision", "tiny-sdar-vl"} {
		// Exact: the fp32 reference pins the exact kernels (the packed
		// path's captions are checked against it in the held-out tests).
		m, err := LoadWith(filepath.Join(modelsDir, name), model.LoadOptions{Exact: true})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		models[name] = m.Encoder.(*LlavaOnevision)
	}
	const tol = 1e-4
	var worst float64
	for _, c := range g.Cases {
		t.Run(fmt.Sprintf("%s/%s/layer%d/%s", c.Model, c.Image, c.Layer, c.Strategy), func(t *testing.T) {
			base := models[c.Model]
			m := *base // a copy with this case's feature selection
			m.FeatureLayers, m.Strategy = []int{c.Layer}, c.Strategy
			got, err := m.Encode(goldenImage(t, c.Image))
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), "not consistent") {
					t.Fatalf("transformers refuses (%s); got %v", c.Error, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.Features.values(t)
			if got.N != c.Features.Shape[0] || got.Hidden != c.Features.Shape[1] {
				t.Fatalf("features %dx%d, want %v", got.N, got.Hidden, c.Features.Shape)
			}
			if n, err := m.NumTokens(c.ImageSizes[1], c.ImageSizes[0]); err != nil || n != c.NumTokens || n != got.N {
				t.Errorf("NumTokens = %d, %v; processor says %d, rows %d", n, err, c.NumTokens, got.N)
			}
			if got.TokenID != m.TokenID || len(got.Placeholders()) != got.N {
				t.Errorf("placeholders: token %d, %d of them", got.TokenID, len(got.Placeholders()))
			}
			mx, mean := diff(got.Rows, want)
			worst = max(worst, mx)
			t.Logf("%d rows: max |diff| %.2e, mean %.2e (scale %.2f)", got.N, mx, mean, scaleOf(want))
			if mx > tol {
				t.Errorf("max |diff| %.3g > %g", mx, tol)
			}
		})
	}
	t.Logf("worst max |diff| over all cases: %.2e", worst)
}

// TestDemoVisionLayout: a 48×48 held-out scene gives the 78 rows demo-vision's
// config.json documents (36 base + 6 rows of 6 tile patches and image_newline).
func TestDemoVisionLayout(t *testing.T) {
	m, err := Load(filepath.Join(modelsDir, "demo-vision"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img, _, err := Decode(mustRead(t, "../testdata/heldout/vision/0001.png"), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Encode(img)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Encoder.(*LlavaOnevision)
	if f.N != 78 || f.Hidden != 160 || f.TokenID != 4 || f.StartTokenID != -1 || f.EndTokenID != -1 {
		t.Fatalf("features %d×%d, token %d (%d, %d)", f.N, f.Hidden, f.TokenID, f.StartTokenID, f.EndTokenID)
	}
	// Rows 36..41 are the tile's first row, row 42 the image_newline.
	for i, v := range f.Row(42) {
		if v != l.Newline[i] {
			t.Fatal("row 42 is not image_newline")
		}
	}
	// The base image and the 1×1 tile are the same 48×48 crop.
	for i := range 6 {
		if mx, _ := diff(f.Row(i), f.Row(36+i)); mx != 0 {
			t.Fatalf("base row %d differs from tile row %d by %g", i, 36+i, mx)
		}
	}
}
