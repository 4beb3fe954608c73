package vision

import (
	"encoding/json"
	"math"
	"testing"
)

type preprocessCase struct {
	Processor       string          `json:"processor"`
	ProcessorConfig json.RawMessage `json:"processor_config"`
	Image           string          `json:"image"`
	Error           string          `json:"error"`
	Shape           []int           `json:"shape"`
	ImageSizes      []int           `json:"image_sizes"`
	GridTHW         []int           `json:"grid_thw"`
	U8z             string          `json:"u8z"`
	U8Shape         []int           `json:"u8_shape"`
	Sum             float64         `json:"sum"`
	MaxAbs          float64         `json:"max_abs"`
	Rows            []int           `json:"rows"`
	RowsF32         f32Array        `json:"rows_f32"`
}

// TestPreprocessMatchesTransformers runs the LLaVA-OneVision (anyres), SigLIP and
// Qwen2-VL image processors of transformers (PIL backend) against ours on the golden
// images. The resampled uint8 pixels must be identical, and so the pixel_values: the
// goldens store the uint8 pixels that transformers' float32 pixel_values are an exact
// function of (checked by the script), plus the float64 sum of those pixel_values.
func TestPreprocessMatchesTransformers(t *testing.T) {
	var g struct{ Cases []preprocessCase }
	readGolden(t, "preprocess.json", &g)
	var worst, meanSum float64
	var n int
	for _, c := range g.Cases {
		t.Run(c.Processor+"/"+c.Image, func(t *testing.T) {
			cfg, err := ParseProcessorConfig(c.ProcessorConfig)
			if err != nil {
				t.Fatal(err)
			}
			img := goldenImage(t, c.Image)
			var got []float32
			var gotU8 []byte
			switch cfg.Kind {
			case KindQwen2VL:
				p, err := cfg.QwenPatches(img)
				if c.Error != "" {
					if err == nil || ReasonOf(err) != ReasonUnsupported {
						t.Fatalf("transformers refuses (%s); got err %v", c.Error, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if g := []int{p.Grid.T, p.Grid.H, p.Grid.W}; !equalInts(g, c.GridTHW) || p.N != c.Shape[0] || p.Dim != c.Shape[1] {
					t.Fatalf("grid %v, %dx%d patches; want grid %v, shape %v", g, p.N, p.Dim, c.GridTHW, c.Shape)
				}
				m, _ := cfg.qwenResized(img)
				gotU8 = planes(m)
				got = p.Pixels
				// A few of transformers' patch rows verbatim: the patch layout.
				rows := c.RowsF32.values(t)
				for k, r := range c.Rows {
					if mx, _ := diff(p.Pixels[r*p.Dim:(r+1)*p.Dim], rows[k*p.Dim:(k+1)*p.Dim]); mx != 0 {
						t.Fatalf("patch row %d differs from transformers by %g", r, mx)
					}
				}
			case KindLlavaOnevision:
				cr, err := cfg.Anyres(img)
				if err != nil {
					t.Fatal(err)
				}
				if !equalInts([]int{cr.N, 3, cr.H, cr.W}, c.Shape) || !equalInts(cr.ImageSize[:], c.ImageSizes) {
					t.Fatalf("%d crops %dx%d of image %v; want shape %v, image_sizes %v", cr.N, cr.W, cr.H, cr.ImageSize, c.Shape, c.ImageSizes)
				}
				tiles, _, _ := cfg.anyresTiles(img)
				for _, tl := range tiles {
					gotU8 = append(gotU8, planes(tl)...)
				}
				got = cr.Pixels
			default:
				cr, err := cfg.Plain(img)
				if err != nil {
					t.Fatal(err)
				}
				m, _ := Resize(img, cfg.Size.Width, cfg.Size.Height, cfg.Resample)
				gotU8 = planes(m)
				got = cr.Pixels
			}
			want := u8z(t, c.U8z)
			if len(gotU8) != len(want) {
				t.Fatalf("%d pixels, want %d", len(gotU8), len(want))
			}
			bad := 0
			for i := range want {
				if gotU8[i] != want[i] {
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d resampled uint8 values differ from transformers", bad, len(want))
			}
			// pixel_values: ours against transformers' (rebuilt from its uint8 pixels
			// with numpy's arithmetic, which the script checked bit for bit).
			wantPV := make([]float32, len(want))
			if cfg.Kind == KindQwen2VL {
				m := &RGB{W: c.U8Shape[2], H: c.U8Shape[1], Pix: interleave(want, c.U8Shape[1]*c.U8Shape[2])}
				p, _ := cfg.QwenPatches(m)
				wantPV = p.Pixels
			} else {
				var lut [3][256]float32
				for ch := range 3 {
					for u := range 256 {
						lut[ch][u] = (float32(float64(u)*cfg.RescaleFactor) - cfg.Mean[ch]) / cfg.Std[ch]
					}
				}
				plane := c.Shape[len(c.Shape)-1] * c.Shape[len(c.Shape)-2]
				for i, u := range want {
					wantPV[i] = lut[(i/plane)%3][u]
				}
			}
			mx, mean := diff(got, wantPV)
			worst = max(worst, mx)
			meanSum += mean
			n++
			if mx != 0 {
				t.Errorf("pixel_values differ from transformers: max %.3g mean %.3g", mx, mean)
			}
			var sum float64
			for _, v := range got {
				sum += float64(v)
			}
			if math.Abs(sum-c.Sum) > 1e-6*math.Max(1, math.Abs(c.Sum)) {
				t.Errorf("sum of pixel_values %.9g, transformers %.9g", sum, c.Sum)
			}
		})
	}
	t.Logf("pixel_values vs transformers over %d cases: max |diff| %.3g, mean |diff| %.3g", n, worst, meanSum/float64(max(n, 1)))
}

// planes is an image as uint8 channel planes [3, H, W].
func planes(m *RGB) []byte {
	n := m.W * m.H
	out := make([]byte, 3*n)
	for i := range n {
		out[i], out[n+i], out[2*n+i] = m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2]
	}
	return out
}

// interleave is the inverse of planes.
func interleave(p []byte, n int) []byte {
	out := make([]byte, 3*n)
	for i := range n {
		out[3*i], out[3*i+1], out[3*i+2] = p[i], p[n+i], p[2*n+i]
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
