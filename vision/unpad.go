package vision

import "math"

// unpad is transformers' unpad_image for an image of height×width whose
// anyres feature map is H×W: the rows [y0, y1) and columns [x0, x1) that are
// image, not the black padding added to fit the grid pinpoint.
func unpad(height, width, H, W int) (y0, y1, x0, x1 int) {
	y1, x1 = H, W
	if float64(width)/float64(height) > float64(W)/float64(H) {
		nh := pyIntRound7(float64(height) * (float64(W) / float64(width)))
		p := (H - nh) / 2
		return p, H - p, 0, W
	}
	nw := pyIntRound7(float64(width) * (float64(H) / float64(height)))
	p := (W - nw) / 2
	return 0, H, p, W - p
}

// pyIntRound7 is Python's int(round(x, 7)) for x >= 0: round to 7 decimals
// (half to even), then truncate.
func pyIntRound7(x float64) int {
	return int(math.RoundToEven(x*1e7) / 1e7)
}

func sqrt(x float64) float64 { return math.Sqrt(x) }

// floorDiv is Python's float a // b for a, b > 0.
func floorDiv(a, b float64) float64 { return math.Floor(a / b) }

// bilinear resizes a feature map x [h, w, d] to [nh, nw, d] as
// torch.nn.functional.interpolate(mode="bilinear", align_corners=False)
// without antialiasing: half-pixel centres, source coordinates clamped at 0,
// float32 weights.
func bilinear(x []float32, h, w, nh, nw, d int) []float32 {
	out := make([]float32, nh*nw*d)
	if nh <= 0 || nw <= 0 {
		return out
	}
	type tap struct {
		i0, i1 int
		l0, l1 float32
	}
	taps := func(in, n int) []tap {
		scale := float32(in) / float32(n)
		t := make([]tap, n)
		for i := range n {
			src := max(scale*(float32(i)+0.5)-0.5, 0)
			i0 := int(src)
			i1 := i0
			if i0 < in-1 {
				i1 = i0 + 1
			}
			l1 := min(max(src-float32(i0), 0), 1)
			t[i] = tap{i0, i1, 1 - l1, l1}
		}
		return t
	}
	ty, tx := taps(h, nh), taps(w, nw)
	for y, a := range ty {
		for xx, b := range tx {
			o := out[(y*nw+xx)*d:][:d]
			p00, p01 := x[(a.i0*w+b.i0)*d:][:d], x[(a.i0*w+b.i1)*d:][:d]
			p10, p11 := x[(a.i1*w+b.i0)*d:][:d], x[(a.i1*w+b.i1)*d:][:d]
			for c := range d {
				o[c] = a.l0*(b.l0*p00[c]+b.l1*p01[c]) + a.l1*(b.l0*p10[c]+b.l1*p11[c])
			}
		}
	}
	return out
}
