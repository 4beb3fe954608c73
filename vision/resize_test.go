package vision

import (
	"fmt"
	"testing"
)

// TestResizeMatchesPIL compares Resize with PIL's Image.resize for every filter,
// upscaling and downscaling, odd sizes and one-pixel lines: the bytes must be equal.
func TestResizeMatchesPIL(t *testing.T) {
	var g struct {
		Pillow string `json:"pillow"`
		Cases  []struct {
			Image  string `json:"image"`
			W, H   int
			Filter Resample `json:"filter"`
			U8z    string   `json:"u8z"`
		} `json:"cases"`
	}
	readGolden(t, "resize.json", &g)
	images := map[string]*RGB{}
	for _, c := range g.Cases {
		t.Run(fmt.Sprintf("%s/%dx%d/%v", c.Image, c.W, c.H, c.Filter), func(t *testing.T) {
			src := images[c.Image]
			if src == nil {
				src = goldenImage(t, c.Image)
				images[c.Image] = src
			}
			got, err := Resize(src, c.W, c.H, c.Filter)
			if err != nil {
				t.Fatal(err)
			}
			want := u8z(t, c.U8z)
			if len(got.Pix) != len(want) {
				t.Fatalf("%d bytes, want %d", len(got.Pix), len(want))
			}
			bad, worst := 0, 0
			for i := range want {
				if d := int(got.Pix[i]) - int(want[i]); d != 0 {
					bad++
					worst = max(worst, d, -d)
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d bytes differ from Pillow %s (max |diff| %d)", bad, len(want), g.Pillow, worst)
			}
		})
	}
}
