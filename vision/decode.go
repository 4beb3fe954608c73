package vision

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// codec is one image format's decoders.
type codec struct {
	name, magic string // magic: the first bytes, '?' matches any byte
	decode      func(io.Reader) (image.Image, error)
	config      func(io.Reader) (image.Config, error)
}

// codecs are tried in order. Decoding goes straight to the format's decoder
// with a *bytes.Reader (package image's registry would wrap it in a
// bufio.Reader, and x/image/tiff then buffers up to whatever offset a hostile
// header names: gigabytes for a few hundred bytes of input).
var codecs = []codec{
	{"png", "\x89PNG\r\n\x1a\n", png.Decode, png.DecodeConfig},
	{"jpeg", "\xff\xd8", jpeg.Decode, jpeg.DecodeConfig},
	{"gif", "GIF8?a", gif.Decode, gif.DecodeConfig},
	{"bmp", "BM", bmp.Decode, bmp.DecodeConfig},
	{"tiff", "II*\x00", tiff.Decode, tiff.DecodeConfig},
	{"tiff", "MM\x00*", tiff.Decode, tiff.DecodeConfig},
	{"webp", "RIFF????WEBP", webp.Decode, webp.DecodeConfig},
}

func sniff(data []byte) *codec {
	for i := range codecs {
		c := &codecs[i]
		if len(data) < len(c.magic) {
			continue
		}
		ok := true
		for j := range len(c.magic) {
			if c.magic[j] != '?' && c.magic[j] != data[j] {
				ok = false
				break
			}
		}
		if ok {
			return c
		}
	}
	return nil
}

// DefaultMaxPixels is the pixel limit of DecodeOptions' zero value.
const DefaultMaxPixels = 50_000_000

// DecodeOptions control Decode. The zero value is ready to use.
type DecodeOptions struct {
	// MaxPixels rejects an image whose header claims more pixels, before any
	// pixel is decoded. Default DefaultMaxPixels. Peak memory of a decode is
	// a small multiple of the pixel count (at most ~16 bytes a pixel, for a
	// progressive JPEG's coefficients plus the decoded and the RGB image),
	// except that a lossless WebP stream can make x/image/vp8l allocate its
	// Huffman group table (up to ~170 MB) whatever the pixel count.
	MaxPixels int64
	// KeepOrientation leaves the pixels as stored; by default the EXIF
	// orientation (JPEG, PNG eXIf, WebP, TIFF) is applied.
	KeepOrientation bool
}

// Info describes a decoded image.
type Info struct {
	Format string // "jpeg", "png", "gif", "bmp", "tiff" or "webp"
	// Width and Height are the returned image's, after the EXIF orientation.
	Width, Height int
	// Orientation is the EXIF orientation found (1-8; 1 = as stored).
	Orientation int
	// Rotated is true when the orientation swapped width and height.
	Rotated bool
	// Color is the decoded pixel layout before conversion to RGB:
	// "rgb", "rgba", "gray", "gray16", "rgb16", "rgba16", "ycbcr", "ycbcra",
	// "cmyk", "paletted" or "other".
	Color string
}

// Decode decodes a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP image to RGB
// (see ToRGB) and applies its EXIF orientation. The pixel count the header
// claims is checked against MaxPixels before decoding. Every failure is an
// *Error with a Reason; a decoder panic on hostile input is recovered and
// reported as ReasonCorrupt.
func Decode(data []byte, opts DecodeOptions) (img *RGB, info Info, err error) {
	limit := opts.MaxPixels
	if limit <= 0 {
		limit = DefaultMaxPixels
	}
	if len(data) == 0 {
		return nil, info, fail(ReasonEmpty, "no image data (0 bytes)")
	}
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fail(ReasonCorrupt, "%s decoder failed on malformed data: %v", orUnknown(info.Format), p)
		}
	}()
	c := sniff(data)
	if c == nil {
		return nil, info, fail(ReasonNotImage, "unknown image format (%d bytes starting %q)", len(data), head(data))
	}
	format := c.name
	info.Format = format
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, info, classify(format, "header", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, fail(ReasonEmpty, "%s header claims %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > limit {
		return nil, info, fail(ReasonTooLarge, "%s header claims %dx%d = %d pixels, limit %d", format, cfg.Width, cfg.Height, px, limit)
	}
	m, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, info, classify(format, "data", err)
	}
	b := m.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, info, fail(ReasonEmpty, "%s image has %dx%d pixels", format, b.Dx(), b.Dy())
	}
	if int64(b.Dx())*int64(b.Dy()) > limit {
		return nil, info, fail(ReasonTooLarge, "%s image has %dx%d pixels, limit %d", format, b.Dx(), b.Dy(), limit)
	}
	info.Color = colorName(m)
	img = ToRGB(m)
	info.Orientation = 1
	if !opts.KeepOrientation {
		info.Orientation = exifOrientation(data, format)
		img = orient(img, info.Orientation)
	}
	info.Width, info.Height = img.W, img.H
	info.Rotated = info.Orientation >= 5 && img.W != img.H
	return img, info, nil
}

func orUnknown(format string) string {
	if format == "" {
		return "image"
	}
	return format
}

// head is the first bytes of data, for messages about unknown formats.
func head(data []byte) []byte { return data[:min(len(data), 8)] }

// classify turns a decoder error into an *Error.
func classify(format, part string, err error) *Error {
	f := orUnknown(format)
	var (
		pngU  png.UnsupportedError
		jpegU jpeg.UnsupportedError
		tiffU tiff.UnsupportedError
	)
	msg := err.Error()
	switch {
	case strings.Contains(msg, "non-positive dimension"):
		return &Error{Reason: ReasonEmpty, Err: fmt.Errorf("%s %s: %w", f, part, err)}
	case strings.Contains(msg, "dimension overflow"):
		return &Error{Reason: ReasonTooLarge, Err: fmt.Errorf("%s %s: %w", f, part, err)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || truncatedMsg(msg):
		return &Error{Reason: ReasonTruncated, Err: fmt.Errorf("%s %s ends early: %w", f, part, err)}
	case errors.As(err, &pngU) || errors.As(err, &jpegU) || errors.As(err, &tiffU) ||
		errors.Is(err, bmp.ErrUnsupported) || strings.Contains(msg, "unsupported"):
		return &Error{Reason: ReasonUnsupported, Err: fmt.Errorf("%s %s: %w", f, part, err)}
	}
	return &Error{Reason: ReasonCorrupt, Err: fmt.Errorf("%s %s: %w", f, part, err)}
}

// truncatedMsg recognizes decoder errors that mean the data stopped early: the
// PNG decoder reports missing IDAT data and the JPEG decoder a cut scan as
// format errors.
func truncatedMsg(msg string) bool {
	return strings.Contains(msg, "not enough pixel data") || strings.Contains(msg, "short Huffman data") ||
		strings.Contains(msg, "unexpected EOF")
}

func colorName(m image.Image) string {
	switch m.(type) {
	case *image.RGBA, *image.NRGBA:
		if opaqueImage(m) {
			return "rgb"
		}
		return "rgba"
	case *image.RGBA64, *image.NRGBA64:
		if opaqueImage(m) {
			return "rgb16"
		}
		return "rgba16"
	case *image.Gray:
		return "gray"
	case *image.Gray16:
		return "gray16"
	case *image.YCbCr:
		return "ycbcr"
	case *image.NYCbCrA:
		return "ycbcra"
	case *image.CMYK:
		return "cmyk"
	case *image.Paletted:
		return "paletted"
	}
	return "other"
}

func opaqueImage(m image.Image) bool {
	if o, ok := m.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}
