package vision

import (
	"fmt"
	"math"
)

// Crops are an image's pixel_values for a SigLIP/CLIP tower: N crops of
// 3×H×W, float32 channel planes.
type Crops struct {
	N, H, W int
	Pixels  []float32 // [N, 3, H, W]
	// ImageSize is the original (height, width) (transformers' image_sizes).
	ImageSize [2]int
	// Best is the anyres grid pinpoint chosen, (height, width); zero for a
	// single plain crop.
	Best [2]int
}

// Crop returns crop i's pixels [3, H, W].
func (c *Crops) Crop(i int) []float32 {
	n := 3 * c.H * c.W
	return c.Pixels[i*n : (i+1)*n]
}

// SelectBestResolution is transformers' select_best_resolution: the pinpoint
// (height, width) that keeps the most of the image's resolution after an
// aspect-preserving downscale, then the one that wastes the least area.
func SelectBestResolution(height, width int, pinpoints [][2]int) [2]int {
	var best [2]int
	maxEffective, minWasted := 0, math.MaxInt
	for _, p := range pinpoints {
		h, w := p[0], p[1]
		scale := min(float64(w)/float64(width), float64(h)/float64(height))
		dw, dh := int(float64(width)*scale), int(float64(height)*scale)
		effective := min(dw*dh, width*height)
		wasted := w*h - effective
		if effective > maxEffective || (effective == maxEffective && wasted < minWasted) {
			maxEffective, minWasted, best = effective, wasted, p
		}
	}
	return best
}

// patchOutputSize is transformers' get_patch_output_size: the size an image is
// resized to so that it fits target (height, width) with its aspect ratio.
func patchOutputSize(height, width int, target [2]int) (int, int) {
	th, tw := target[0], target[1]
	sw, sh := float64(tw)/float64(width), float64(th)/float64(height)
	if sw < sh {
		return min(int(math.Ceil(float64(height)*sw)), th), tw
	}
	return th, min(int(math.Ceil(float64(width)*sh)), tw)
}

// Anyres preprocesses an image as LlavaOnevisionImageProcessor (PIL backend)
// does for a single image: crop 0 is the whole image resized to Size; then
// the image resized to fit the best grid pinpoint, padded with black to it
// (centred), cut into Size.Height tiles row by row, each resized to Size.
// Every crop is rescaled and normalized.
func (c *ProcessorConfig) Anyres(img *RGB) (*Crops, error) {
	tiles, best, err := c.anyresTiles(img)
	if err != nil {
		return nil, err
	}
	out := c.toCrops(tiles)
	out.ImageSize, out.Best = [2]int{img.H, img.W}, best
	return out, nil
}

// anyresTiles are Anyres's crops before rescaling and normalization.
func (c *ProcessorConfig) anyresTiles(img *RGB) ([]*RGB, [2]int, error) {
	if img.W <= 0 || img.H <= 0 {
		return nil, [2]int{}, fail(ReasonEmpty, "image has %dx%d pixels", img.W, img.H)
	}
	if len(c.GridPinpoints) == 0 {
		return nil, [2]int{}, fmt.Errorf("vision: anyres preprocessing without image_grid_pinpoints")
	}
	best := SelectBestResolution(img.H, img.W, c.GridPinpoints)
	rh, rw := patchOutputSize(img.H, img.W, best)
	resized, err := Resize(img, rw, rh, c.Resample)
	if err != nil {
		return nil, best, err
	}
	padded := resized
	if rh != best[0] || rw != best[1] {
		// np.pad with zeros: divmod puts the odd pixel after the image.
		padded = NewRGB(best[1], best[0])
		top, left := (best[0]-rh)/2, (best[1]-rw)/2
		for y := range rh {
			copy(padded.Pix[3*((top+y)*padded.W+left):], resized.Pix[3*y*rw:3*(y+1)*rw])
		}
	}
	base, err := Resize(img, c.Size.Width, c.Size.Height, c.Resample)
	if err != nil {
		return nil, best, err
	}
	tiles := []*RGB{base}
	t := c.Size.Height // patch_size = size["height"]
	for y := 0; y < padded.H; y += t {
		for x := 0; x < padded.W; x += t {
			tiles = append(tiles, subImage(padded, x, y, min(t, padded.W-x), min(t, padded.H-y)))
		}
	}
	for i, tile := range tiles {
		if tile.W == c.Size.Width && tile.H == c.Size.Height {
			continue
		}
		if !c.Resize {
			return nil, best, fail(ReasonUnsupported, "anyres tile %d is %dx%d, not %dx%d, and do_resize is false", i, tile.W, tile.H, c.Size.Width, c.Size.Height)
		}
		if tiles[i], err = Resize(tile, c.Size.Width, c.Size.Height, c.Resample); err != nil {
			return nil, best, err
		}
	}
	return tiles, best, nil
}

// Plain preprocesses an image as SiglipImageProcessor (PIL backend) does:
// resize to Size, rescale, normalize; one crop.
func (c *ProcessorConfig) Plain(img *RGB) (*Crops, error) {
	if img.W <= 0 || img.H <= 0 {
		return nil, fail(ReasonEmpty, "image has %dx%d pixels", img.W, img.H)
	}
	m := img
	if c.Resize {
		var err error
		if m, err = Resize(img, c.Size.Width, c.Size.Height, c.Resample); err != nil {
			return nil, err
		}
	}
	out := c.toCrops([]*RGB{m})
	out.ImageSize = [2]int{img.H, img.W}
	return out, nil
}

func (c *ProcessorConfig) toCrops(tiles []*RGB) *Crops {
	h, w := tiles[0].H, tiles[0].W
	out := &Crops{N: len(tiles), H: h, W: w, Pixels: make([]float32, len(tiles)*3*h*w)}
	for i, t := range tiles {
		c.normalize(out.Crop(i), t)
	}
	return out
}

func subImage(m *RGB, x0, y0, w, h int) *RGB {
	out := NewRGB(w, h)
	for y := range h {
		copy(out.Pix[3*y*w:3*(y+1)*w], m.Pix[3*((y0+y)*m.W+x0):])
	}
	return out
}
