package transforms

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // GIF decoder
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder
	"io"
	"strings"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"  // BMP decoder
	_ "golang.org/x/image/tiff" // TIFF decoder
)

// VisionSize is the longest side images are resized to for the vision encoder.
const VisionSize = 448

// ImageInfo describes a decoded image.
type ImageInfo struct {
	Format string `json:"format"`
	// Width and Height after EXIF orientation.
	Width    int  `json:"width"`
	Height   int  `json:"height"`
	Rotated  bool `json:"rotated,omitempty"` // EXIF orientation swapped the sides
	ResizedW int  `json:"resized_width"`
	ResizedH int  `json:"resized_height"`
	// MeanRGB is the mean colour of the resized image, each channel in [0, 1].
	MeanRGB []float32 `json:"mean_rgb"`
}

// DecodeImage decodes a JPEG, PNG, GIF, BMP or TIFF image, applies its EXIF orientation
// and resizes it to fit VisionSize×VisionSize. The pixel count the header claims is
// checked against maxPixels before any pixel is decoded. Errors are *Rejection.
func DecodeImage(data []byte, maxPixels int64) (img *image.NRGBA, info ImageInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, reject(StageDecode, ReasonCorrupt, "image decoder: %v", p)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, info, reject(StageDecode, ReasonNotImage, "unknown image format")
		}
		return nil, info, imageErr("header", err)
	}
	info.Format = format
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, reject(StageDecode, ReasonCorrupt, "%s header claims %dx%d pixels", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return nil, info, reject(StageDecode, ReasonTooManyPixels, "%s header claims %dx%d = %d pixels, limit %d", format, cfg.Width, cfg.Height, px, maxPixels)
	}
	full, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, info, imageErr("data", err)
	}
	b := full.Bounds()
	info.Width, info.Height = b.Dx(), b.Dy()
	info.Rotated = info.Width == cfg.Height && info.Height == cfg.Width && cfg.Width != cfg.Height
	img = imaging.Fit(full, VisionSize, VisionSize, imaging.Lanczos)
	info.ResizedW, info.ResizedH = img.Bounds().Dx(), img.Bounds().Dy()
	var sum [3]float64
	info.MeanRGB = make([]float32, 3)
	for i := 0; i < len(img.Pix); i += 4 {
		for c := range 3 {
			sum[c] += float64(img.Pix[i+c])
		}
	}
	n := float64(len(img.Pix) / 4)
	for c := range 3 {
		info.MeanRGB[c] = float32(sum[c] / n / 255)
	}
	return img, info, nil
}

func imageErr(part string, err error) *Rejection {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || truncatedMsg(err.Error()) {
		return reject(StageDecode, ReasonTruncated, "image %s ends early: %v", part, err)
	}
	return reject(StageDecode, ReasonCorrupt, "image %s: %v", part, err)
}

// truncatedMsg recognizes decoder errors that mean the data stopped early: the PNG
// decoder reports missing IDAT data and the JPEG decoder a cut scan as format errors.
func truncatedMsg(msg string) bool {
	return strings.Contains(msg, "not enough pixel data") || strings.Contains(msg, "short Huffman data") ||
		strings.Contains(msg, "unexpected EOF")
}

func (i ImageInfo) String() string {
	return fmt.Sprintf("%s, %dx%d", i.Format, i.Width, i.Height)
}
