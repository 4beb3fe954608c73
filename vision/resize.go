package vision

import (
	"fmt"
	"math"
)

// Resample is a resampling filter, numbered as PIL's Image.Resampling (the
// "resample" field of a Hugging Face preprocessor_config.json).
type Resample int

const (
	Nearest  Resample = 0
	Lanczos  Resample = 1
	Bilinear Resample = 2
	Bicubic  Resample = 3
	Box      Resample = 4
	Hamming  Resample = 5
	MKS2013  Resample = 6 // Magic Kernel Sharp 2013 (Pillow >= 13)
	MKS2021  Resample = 7 // Magic Kernel Sharp 2021 (Pillow >= 13)
)

func (r Resample) String() string {
	switch r {
	case Nearest:
		return "nearest"
	case Lanczos:
		return "lanczos"
	case Bilinear:
		return "bilinear"
	case Bicubic:
		return "bicubic"
	case Box:
		return "box"
	case Hamming:
		return "hamming"
	case MKS2013:
		return "mks2013"
	case MKS2021:
		return "mks2021"
	}
	return fmt.Sprintf("Resample(%d)", int(r))
}

// filter is a PIL resampling kernel and its support radius at scale 1.
type filter struct {
	fn      func(x float64) float64
	support float64
}

var filters = map[Resample]filter{
	Box:      {boxFilter, 0.5},
	Bilinear: {bilinearFilter, 1},
	Hamming:  {hammingFilter, 1},
	Bicubic:  {bicubicFilter, 2},
	Lanczos:  {lanczosFilter, 3},
	MKS2013:  {mks2013Filter, 2.5},
	MKS2021:  {mks2021Filter, 4.5},
}

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

func hammingFilter(x float64) float64 {
	x = math.Abs(x)
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x *= math.Pi
	// PIL writes the window's constants as C floats (0.54f, 0.46f).
	return math.Sin(x) / x * (float64(float32(0.54)) + float64(float32(0.46))*math.Cos(x))
}

// bicubicFilter is the Keys cubic with a = -0.5 (PIL's BICUBIC).
func bicubicFilter(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if x >= -3 && x < 3 {
		return sinc(x) * sinc(x/3)
	}
	return 0
}

func mks2013Filter(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 0.5:
		return 17.0/16.0 - 7.0/4.0*x*x
	case x < 1.5:
		return (1 - x) * (7.0/4.0 - x)
	case x < 2.5:
		return -1.0 / 8.0 * (x - 5.0/2.0) * (x - 5.0/2.0)
	}
	return 0
}

func mks2021Filter(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 0.5:
		return 577.0/576.0 - 239.0/144.0*x*x
	case x < 1.5:
		return 35.0 / 36.0 * (x - 1) * (x - 239.0/140.0)
	case x < 2.5:
		return 1.0 / 6.0 * (x - 2) * (65.0/24.0 - x)
	case x < 3.5:
		return 1.0 / 36.0 * (x - 3) * (x - 15.0/4.0)
	case x < 4.5:
		return -1.0 / 288.0 * (x - 9.0/2.0) * (x - 9.0/2.0)
	}
	return 0
}

// precision is the number of fractional bits of PIL's 8-bit resampling coefficients.
const precision = 32 - 8 - 2

// coeffs are the taps of a one-dimensional resampling pass: output pixel i reads
// input pixels start[i] .. start[i]+n[i]-1 with weights k[i*ksize:].
type coeffs struct {
	ksize    int
	start, n []int
	k        []int32 // [out, ksize] fixed point with precision fractional bits
}

// precompute builds the taps for resizing inSize pixels to outSize as PIL's
// precompute_coeffs and normalize_coeffs_8bpc do: the kernel is stretched by
// the downscale factor (antialiasing), normalised per output pixel, then
// rounded to fixed point.
func precompute(inSize, outSize int, f filter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := f.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, start: make([]int, outSize), n: make([]int, outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	for i := range outSize {
		center := (float64(i) + 0.5) * scale
		ss := 1 / filterscale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), inSize)
		n := hi - lo
		var sum float64
		for x := range n {
			w[x] = f.fn((float64(x+lo) - center + 0.5) * ss)
			sum += w[x]
		}
		for x := range n {
			v := w[x]
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				c.k[i*ksize+x] = int32(-0.5 + v*(1<<precision))
			} else {
				c.k[i*ksize+x] = int32(0.5 + v*(1<<precision))
			}
		}
		c.start[i], c.n[i] = lo, n
	}
	return c
}

func clip8(v int32) uint8 {
	v >>= precision
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Resize returns src resized to w×h with PIL's Image.resize arithmetic
// (Pillow 13, libImaging/Resample.c): two separable passes with 8-bit
// fixed-point coefficients, each rounded and clipped to 8 bits; the vertical
// pass goes first when the height shrinks by more than twice as many pixels as
// the width, else the horizontal one. The result equals what transformers' PIL
// image processors compute. Nearest follows PIL's affine nearest-neighbour
// scaling.
func Resize(src *RGB, w, h int, r Resample) (*RGB, error) {
	if w <= 0 || h <= 0 {
		return nil, fail(ReasonUnsupported, "resize to %dx%d", w, h)
	}
	if src.W <= 0 || src.H <= 0 {
		return nil, fail(ReasonEmpty, "resize of a %dx%d image", src.W, src.H)
	}
	if w == src.W && h == src.H {
		return &RGB{W: w, H: h, Pix: append([]uint8(nil), src.Pix...)}, nil
	}
	if r == Nearest {
		return resizeNearest(src, w, h), nil
	}
	f, ok := filters[r]
	if !ok {
		return nil, fail(ReasonUnsupported, "resampling filter %v", r)
	}
	needH, needV := w != src.W, h != src.H
	if dy := src.H - h; dy > 0 && dy > (src.W-w)*2 {
		// Vertical first.
		cur := src
		if needV {
			cur = NewRGB(src.W, h)
			vertical(cur, src, precompute(src.H, h, f))
		}
		if needH {
			out := NewRGB(w, h)
			horizontal(out, cur, 0, precompute(src.W, w, f))
			cur = out
		}
		return cur, nil
	}
	if !needH {
		out := NewRGB(w, h)
		vertical(out, src, precompute(src.H, h, f))
		return out, nil
	}
	// Horizontal first, on only the source rows the vertical pass reads.
	cv := precompute(src.H, h, f)
	first, last := cv.start[0], cv.start[h-1]+cv.n[h-1]
	if !needV {
		first, last = 0, src.H
	}
	tmp := NewRGB(w, last-first)
	horizontal(tmp, src, first, precompute(src.W, w, f))
	if !needV {
		return tmp, nil
	}
	for i := range cv.start {
		cv.start[i] -= first
	}
	out := NewRGB(w, h)
	vertical(out, tmp, cv)
	return out, nil
}

// horizontal resizes rows y0.. of in into out (out.H rows, out.W columns).
func horizontal(out, in *RGB, y0 int, c coeffs) {
	for y := range out.H {
		row := in.Pix[(y0+y)*in.W*3:][:in.W*3]
		o := out.Pix[y*out.W*3:][:out.W*3]
		for x := range out.W {
			n := c.n[x]
			k := c.k[x*c.ksize:][:n]
			p := row[c.start[x]*3:][:3*n]
			s0, s1, s2 := int32(1<<(precision-1)), int32(1<<(precision-1)), int32(1<<(precision-1))
			for j, kj := range k {
				q := p[3*j : 3*j+3]
				s0 += int32(q[0]) * kj
				s1 += int32(q[1]) * kj
				s2 += int32(q[2]) * kj
			}
			o[3*x], o[3*x+1], o[3*x+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// vertical resizes the columns of in into out (same width), a row of taps at
// a time (integer sums, so the order does not change the result).
func vertical(out, in *RGB, c coeffs) {
	stride := in.W * 3
	acc := make([]int32, stride)
	for y := range out.H {
		for i := range acc {
			acc[i] = 1 << (precision - 1)
		}
		k := c.k[y*c.ksize:]
		for j := range c.n[y] {
			kj := k[j]
			row := in.Pix[(c.start[y]+j)*stride:][:stride]
			for i, p := range row {
				acc[i] += int32(p) * kj
			}
		}
		o := out.Pix[y*stride:][:stride]
		for i, v := range acc {
			o[i] = clip8(v)
		}
	}
}

// resizeNearest is PIL's ImagingScaleAffine: source coordinates accumulate
// the scale step from half a step in.
func resizeNearest(src *RGB, w, h int) *RGB {
	out := NewRGB(w, h)
	ax, ay := float64(src.W)/float64(w), float64(src.H)/float64(h)
	xin := make([]int, w)
	xo := ax * 0.5
	for x := range w {
		xin[x] = min(max(int(xo), 0), src.W-1)
		xo += ax
	}
	yo := ay * 0.5
	for y := range h {
		sy := min(max(int(yo), 0), src.H-1)
		yo += ay
		srow := src.Pix[sy*src.W*3:]
		orow := out.Pix[y*w*3:]
		for x, sx := range xin {
			copy(orow[3*x:3*x+3], srow[3*sx:])
		}
	}
	return out
}
