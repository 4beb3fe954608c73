package vision

import (
	"image"
	"image/color"
)

// RGB is an 8-bit RGB image: Pix [H, W, 3] row-major, the layout of a PIL "RGB"
// image as a numpy array. It implements image.Image (every pixel opaque).
type RGB struct {
	W, H int
	Pix  []uint8 // [H, W, 3]
}

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB { return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)} }

func (m *RGB) ColorModel() color.Model { return color.RGBAModel }

func (m *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

func (m *RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	p := m.Pix[3*(y*m.W+x):]
	return color.RGBA{R: p[0], G: p[1], B: p[2], A: 255}
}

// NRGBA returns the image as an opaque *image.NRGBA (a copy).
func (m *RGB) NRGBA() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < len(m.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	return out
}

// ToRGB converts any image to RGB as transformers' convert_to_rgb does with
// PIL: transparency is composited over white with PIL's integer
// alpha_composite arithmetic, grayscale is replicated, CMYK uses PIL's
// conversion, and 16-bit samples keep their high byte. An *RGB is returned
// as is.
func ToRGB(img image.Image) *RGB {
	if m, ok := img.(*RGB); ok {
		return m
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	px := out.Pix
	switch m := img.(type) {
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				s := row[4*x:]
				o := px[3*(y*w+x):]
				o[0], o[1], o[2] = overWhite(s[0], s[3]), overWhite(s[1], s[3]), overWhite(s[2], s[3])
			}
		}
	case *image.NRGBA64:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				s := row[8*x:] // big-endian 16-bit samples: the high byte comes first
				o := px[3*(y*w+x):]
				o[0], o[1], o[2] = overWhite(s[0], s[6]), overWhite(s[2], s[6]), overWhite(s[4], s[6])
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				s := row[4*x:]
				o := px[3*(y*w+x):]
				a := s[3]
				if a == 255 {
					o[0], o[1], o[2] = s[0], s[1], s[2]
					continue
				}
				o[0], o[1], o[2] = overWhite(unpremul(s[0], a), a), overWhite(unpremul(s[1], a), a), overWhite(unpremul(s[2], a), a)
			}
		}
	case *image.RGBA64:
		for y := range h {
			for x := range w {
				c := opaque(m.RGBA64At(b.Min.X+x, b.Min.Y+y))
				copy(px[3*(y*w+x):], c[:])
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				o := px[3*(y*w+x):]
				o[0], o[1], o[2] = row[x], row[x], row[x]
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				o := px[3*(y*w+x):]
				v := row[2*x]
				o[0], o[1], o[2] = v, v, v
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				o := px[3*(y*w+x):]
				o[0], o[1], o[2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	case *image.NYCbCrA:
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				a := m.A[m.AOffset(b.Min.X+x, b.Min.Y+y)]
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				o := px[3*(y*w+x):]
				o[0], o[1], o[2] = overWhite(r, a), overWhite(g, a), overWhite(bb, a)
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				s := row[4*x:]
				o := px[3*(y*w+x):]
				o[0], o[1], o[2] = cmykToRGB(s[0], s[3]), cmykToRGB(s[1], s[3]), cmykToRGB(s[2], s[3])
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i >= len(lut) {
				break
			}
			lut[i] = opaque(c)
		}
		for y := range h {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := range w {
				c := lut[row[x]]
				copy(px[3*(y*w+x):], c[:])
			}
		}
	default:
		for y := range h {
			for x := range w {
				c := opaque(img.At(b.Min.X+x, b.Min.Y+y))
				copy(px[3*(y*w+x):], c[:])
			}
		}
	}
	return out
}

// opaque is any colour as 8-bit straight alpha composited over white.
func opaque(c color.Color) [3]uint8 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{overWhite(n.R, n.A), overWhite(n.G, n.A), overWhite(n.B, n.A)}
}

// unpremul undoes premultiplied alpha for one 8-bit channel (a > 0).
func unpremul(c, a uint8) uint8 {
	if a == 0 {
		return 0
	}
	return uint8(min(255, (uint32(c)*255+uint32(a)/2)/uint32(a)))
}

// overWhite composites one 8-bit channel value s with straight alpha a over an
// opaque white background exactly as PIL's Image.alpha_composite
// (libImaging/AlphaComposite.c, 7 fractional bits, division by 255 by shifts).
func overWhite(s, a uint8) uint8 {
	if a == 0 {
		return 255
	}
	const prec = 7
	sa := uint32(a)
	outa255 := sa*255 + 255*(255-sa)
	coef1 := sa * 255 * 255 * (1 << prec) / outa255
	coef2 := 255*(1<<prec) - coef1
	t := uint32(s)*coef1 + 255*coef2 + 0x80<<prec
	return uint8((((t >> 8) + t) >> 8) >> prec)
}

// cmykToRGB is PIL's cmyk2rgb for one channel: (255-k) - c·(255-k)/255, rounded.
func cmykToRGB(c, k uint8) uint8 {
	nk := 255 - int32(k)
	t := int32(c)*nk + 128
	v := nk - (((t >> 8) + t) >> 8)
	return uint8(max(0, min(255, v)))
}
