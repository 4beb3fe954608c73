package transforms

import (
	"fmt"
	"image"

	"github.com/disintegration/imaging"

	"dlmstream/vision"
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

// DecodeImage decodes an image with vision.Decode (JPEG, PNG, GIF, BMP, TIFF, WebP;
// EXIF orientation applied; the header's pixel count checked against maxPixels
// before any pixel is decoded) and resizes it to fit VisionSize×VisionSize.
// Errors are *Rejection.
func DecodeImage(data []byte, maxPixels int64) (img *image.NRGBA, info ImageInfo, err error) {
	if maxPixels <= 0 {
		return nil, info, reject(StageDecode, ReasonTooManyPixels, "pixel limit %d admits no image", maxPixels)
	}
	rgb, vi, err := vision.Decode(data, vision.DecodeOptions{MaxPixels: maxPixels})
	info.Format = vi.Format
	if err != nil {
		return nil, info, imageRejection(err, len(data))
	}
	info.Width, info.Height, info.Rotated = vi.Width, vi.Height, vi.Rotated
	img = imaging.Fit(rgb.NRGBA(), VisionSize, VisionSize, imaging.Lanczos)
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

// imageRejection maps a vision decode error onto a dead-letter reason.
func imageRejection(err error, n int) *Rejection {
	reason := ReasonCorrupt
	switch vision.ReasonOf(err) {
	case vision.ReasonNotImage:
		reason = ReasonNotImage
	case vision.ReasonTruncated:
		reason = ReasonTruncated
	case vision.ReasonUnsupported:
		reason = ReasonUnsupportedFormat
	case vision.ReasonTooLarge:
		reason = ReasonTooManyPixels
	case vision.ReasonEmpty:
		if n == 0 {
			reason = ReasonNotImage // no bytes at all: nothing that looks like an image
		}
	}
	return &Rejection{Stage: StageDecode, Reason: reason, Err: err}
}

func (i ImageInfo) String() string {
	return fmt.Sprintf("%s, %dx%d", i.Format, i.Width, i.Height)
}
