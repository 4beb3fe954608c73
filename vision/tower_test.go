package vision

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"dlmstream/engine/model"
)

// scaleOf is max |x|, to state errors relative to the values' size.
func scaleOf(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// TestSiglipMatchesTransformers runs a tiny random SiglipVisionModel with the
// attention-pooling head (testdata/golden/vision/siglip-head) on transformers'
// pixel_values: every hidden state, post_layernorm and the pooled output.
func TestSiglipMatchesTransformers(t *testing.T) {
	var g struct {
		Cases []struct {
			Image  string     `json:"image"`
			Pixels f32Array   `json:"pixel_values"`
			Hidden []f32Array `json:"hidden_states"`
			Last   f32Array   `json:"last_hidden_state"`
			Pooled f32Array   `json:"pooler_output"`
		} `json:"cases"`
	}
	readGolden(t, "siglip.json", &g)
	dir := filepath.Join(goldenDir, "siglip-head")
	w, err := model.OpenWeights(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cfg, err := parseSiglipConfig(mustRead(t, filepath.Join(dir, "config.json")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := loadSiglip(w, "", cfg)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-4
	for _, c := range g.Cases {
		t.Run(c.Image, func(t *testing.T) {
			var layers []int
			for i := range c.Hidden {
				layers = append(layers, i, i-len(c.Hidden))
			}
			out, err := s.Forward(c.Pixels.values(t), layers, true)
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, got []float32, want f32Array) {
				t.Helper()
				w := want.values(t)
				if len(got) != len(w) {
					t.Fatalf("%s: %d values, want %d", name, len(got), len(w))
				}
				mx, mean := diff(got, w)
				t.Logf("%s: max |diff| %.2e, mean %.2e (scale %.2f)", name, mx, mean, scaleOf(w))
				if mx > tol {
					t.Errorf("%s: max |diff| %.3g > %g", name, mx, tol)
				}
			}
			for i, h := range c.Hidden {
				check(fmt.Sprintf("hidden_states[%d]", i), out.Hidden[i], h)
				check(fmt.Sprintf("hidden_states[%d]", i-len(c.Hidden)), out.Hidden[i-len(c.Hidden)], h)
			}
			check("last_hidden_state", out.Last, c.Last)
			check("pooler_output", out.Pooled, c.Pooled)
		})
	}
}
