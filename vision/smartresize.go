package vision

import "math"

// GridTHW is a Qwen2-VL patch grid: temporal, height and width in patches
// (transformers' image_grid_thw).
type GridTHW struct{ T, H, W int }

// Patches are an image's pixel_values for the Qwen2.5-VL vision tower: one
// row per patch, in the processor's order (2×2 merge blocks row by row, the
// patches of each block row by row), each row [C, T, P, P] flattened.
type Patches struct {
	N, Dim int       // N patches of Dim = 3·T·P·P values
	Pixels []float32 // [N, Dim]
	Grid   GridTHW
	// ImageSize is the original (height, width); Resized is what
	// smart_resize chose.
	ImageSize, Resized [2]int
}

// SmartResize is transformers' smart_resize: a (height, width) whose sides are
// multiples of factor, whose area lies in [minPixels, maxPixels], and whose
// aspect ratio is close to the image's. Aspect ratios above 200 are refused.
func SmartResize(height, width, factor, minPixels, maxPixels int) (int, int, error) {
	if height <= 0 || width <= 0 {
		return 0, 0, fail(ReasonEmpty, "image has %dx%d pixels", width, height)
	}
	if r := float64(max(height, width)) / float64(min(height, width)); r > 200 {
		return 0, 0, fail(ReasonUnsupported, "aspect ratio %.1f of a %dx%d image is above 200 (Qwen2-VL smart_resize)", r, width, height)
	}
	f := float64(factor)
	hb := int(math.RoundToEven(float64(height)/f)) * factor // Python round: half to even
	wb := int(math.RoundToEven(float64(width)/f)) * factor
	if hb*wb > maxPixels {
		beta := math.Sqrt(float64(height) * float64(width) / float64(maxPixels))
		hb = max(factor, int(math.Floor(float64(height)/beta/f))*factor)
		wb = max(factor, int(math.Floor(float64(width)/beta/f))*factor)
	} else if hb*wb < minPixels {
		beta := math.Sqrt(float64(minPixels) / (float64(height) * float64(width)))
		hb = int(math.Ceil(float64(height)*beta/f)) * factor
		wb = int(math.Ceil(float64(width)*beta/f)) * factor
	}
	return hb, wb, nil
}

// QwenPatches preprocesses an image as Qwen2VLImageProcessor (PIL backend)
// does: smart_resize to multiples of PatchSize·MergeSize, resize, rescale,
// normalize, then cut into PatchSize patches, each repeated TemporalPatchSize
// times (a still image is a clip of identical frames).
func (c *ProcessorConfig) QwenPatches(img *RGB) (*Patches, error) {
	m, err := c.qwenResized(img)
	if err != nil {
		return nil, err
	}
	planes := make([]float32, 3*m.W*m.H) // [3, H, W]
	c.normalize(planes, m)
	ps, ms, tp := c.PatchSize, c.MergeSize, c.TemporalPatchSize
	gh, gw := m.H/ps, m.W/ps
	dim := 3 * tp * ps * ps
	out := &Patches{N: gh * gw, Dim: dim, Pixels: make([]float32, gh*gw*dim), Grid: GridTHW{T: 1, H: gh, W: gw},
		ImageSize: [2]int{img.H, img.W}, Resized: [2]int{m.H, m.W}}
	row := 0
	for by := 0; by < gh/ms; by++ {
		for bx := 0; bx < gw/ms; bx++ {
			for my := range ms {
				for mx := range ms {
					py, px := by*ms+my, bx*ms+mx // the patch's grid position
					dst := out.Pixels[row*dim : (row+1)*dim]
					for ch := range 3 {
						plane := planes[ch*m.W*m.H:]
						for t := range tp {
							d := dst[(ch*tp+t)*ps*ps:]
							for y := range ps {
								copy(d[y*ps:(y+1)*ps], plane[(py*ps+y)*m.W+px*ps:])
							}
						}
					}
					row++
				}
			}
		}
	}
	return out, nil
}

// qwenResized is QwenPatches' resized image (before rescale and normalize).
func (c *ProcessorConfig) qwenResized(img *RGB) (*RGB, error) {
	factor := c.PatchSize * c.MergeSize
	if !c.Resize {
		if img.W%factor != 0 || img.H%factor != 0 {
			return nil, fail(ReasonUnsupported, "%dx%d image is not a multiple of %d and do_resize is false", img.W, img.H, factor)
		}
		return img, nil
	}
	h, w, err := SmartResize(img.H, img.W, factor, c.Size.ShortestEdge, c.Size.LongestEdge)
	if err != nil {
		return nil, err
	}
	return Resize(img, w, h, c.Resample)
}
