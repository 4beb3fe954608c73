package vision

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDecodeFormats(t *testing.T) {
	gray16 := image.NewGray16(image.Rect(0, 0, 6, 4))
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, 6, 4))
	for i := range 6 * 4 {
		gray16.Pix[2*i], gray16.Pix[2*i+1] = 0x80, 0xff
		rgba64.Pix[8*i], rgba64.Pix[8*i+6], rgba64.Pix[8*i+7] = 0xff, 0xff, 0xff // opaque red
	}
	tests := []struct {
		name, format, color string
		data                []byte
		w, h                int
		at                  func(m *RGB) bool // a property of the pixels
	}{
		{"png", "png", "rgb", encode(t, "png", halves(40, 20)), 40, 20, redLeftBlueRight},
		{"jpeg", "jpeg", "ycbcr", encode(t, "jpeg", halves(40, 20)), 40, 20, redLeftBlueRight},
		{"gif", "gif", "paletted", encode(t, "gif", halves(40, 20)), 40, 20, redLeftBlueRight},
		{"bmp", "bmp", "rgb", encode(t, "bmp", halves(40, 20)), 40, 20, redLeftBlueRight},
		{"tiff", "tiff", "rgb", encode(t, "tiff", halves(40, 20)), 40, 20, redLeftBlueRight},
		{"16-bit gray png", "png", "gray16", encode(t, "png", gray16), 6, 4, func(m *RGB) bool { return m.Pix[0] == 0x80 && m.Pix[1] == 0x80 }},
		{"16-bit rgba png", "png", "rgb16", encode(t, "png", rgba64), 6, 4, func(m *RGB) bool { return m.Pix[0] == 255 && m.Pix[1] == 0 }},
		{"animated gif: first frame", "gif", "paletted", animatedGIF(t), 8, 8, func(m *RGB) bool { return m.Pix[0] == 255 && m.Pix[2] == 0 }},
		{"1x100000 png", "png", "gray", zeroPNG(t, 1, 100000), 1, 100000, nil},
		{"webp lossy", "webp", "ycbcr", golden(t, "photo-64x48-lossy.webp"), 64, 48, nil},
		{"webp lossless", "webp", "rgb", golden(t, "photo-64x48-lossless.webp"), 64, 48, nil},
		{"webp alpha over white", "webp", "rgba", golden(t, "rgba-40x24.webp"), 40, 24, func(m *RGB) bool { return m.Pix[0] == 255 && m.Pix[1] == 255 }},
		{"cmyk jpeg", "jpeg", "cmyk", golden(t, "photo-64x48-cmyk.jpg"), 64, 48, nil},
		{"rgba png over white", "png", "rgba", golden(t, "rgba-50x30.png"), 50, 30, func(m *RGB) bool { return m.Pix[0] == 255 }},
		{"paletted png with transparency", "png", "paletted", golden(t, "palette-30x20.png"), 30, 20, nil},
		{"gray png", "png", "gray", golden(t, "gray-33x21.png"), 33, 21, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, info, err := Decode(tt.data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tt.format || info.Color != tt.color || m.W != tt.w || m.H != tt.h || info.Width != tt.w || info.Height != tt.h {
				t.Fatalf("got %dx%d %+v, want %s %s %dx%d", m.W, m.H, info, tt.format, tt.color, tt.w, tt.h)
			}
			if tt.at != nil && !tt.at(m) {
				t.Fatalf("pixels wrong: first %v", m.Pix[:6])
			}
		})
	}
}

// TestDecodeCMYKLikePIL: the CMYK JPEG decodes close to what PIL's convert("RGB")
// gives for the same file (libjpeg and Go's IDCT differ by a few levels).
func TestDecodeCMYKMatchesPhoto(t *testing.T) {
	cmyk, _, err := Decode(golden(t, "photo-64x48-cmyk.jpg"), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _, err := Decode(golden(t, "photo-64x48-lossless.webp"), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range ref.Pix {
		d := float64(cmyk.Pix[i]) - float64(ref.Pix[i])
		sum += d * d
	}
	if rms := sum / float64(len(ref.Pix)); rms > 64 { // rms < 8 levels
		t.Fatalf("CMYK JPEG is %.1f mean squared levels from the photo it encodes", rms)
	}
}

func redLeftBlueRight(m *RGB) bool {
	l := m.Pix[3*(m.W/2*0+m.H/2*m.W+2):]
	r := m.Pix[3*(m.H/2*m.W+m.W-3):]
	return l[0] > 200 && l[2] < 60 && r[2] > 200 && r[0] < 60
}

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "images", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeOrientation applies every EXIF orientation to a 3×2 image with four
// distinct corners and checks where each corner lands.
func TestDecodeOrientation(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	corner := [4]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 0, 255}} // TL, TR, BL, BR
	for y := range 20 {
		for x := range 30 {
			src.SetNRGBA(x, y, corner[(y/10)*2+x/15])
		}
	}
	jpg := encode(t, "jpeg", src)
	pngData := encode(t, "png", src)
	// want: which source corner (TL, TR, BL, BR) shows at the output's TL, TR, BL, BR.
	want := map[int][4]int{
		1: {0, 1, 2, 3}, 2: {1, 0, 3, 2}, 3: {3, 2, 1, 0}, 4: {2, 3, 0, 1},
		5: {0, 2, 1, 3}, 6: {2, 0, 3, 1}, 7: {3, 1, 2, 0}, 8: {1, 3, 0, 2},
	}
	for o := 1; o <= 8; o++ {
		for _, c := range []struct {
			name string
			data []byte
		}{{"jpeg", withEXIF(jpg, uint16(o))}, {"png eXIf", withPNGChunk(pngData, "eXIf", tiffOrientationBlock(uint16(o)))}} {
			t.Run(fmt.Sprintf("%s/%d", c.name, o), func(t *testing.T) {
				m, info, err := Decode(c.data, DecodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if info.Orientation != o || info.Rotated != (o >= 5) {
					t.Fatalf("info %+v, want orientation %d", info, o)
				}
				if (o >= 5) != (m.W == 20) {
					t.Fatalf("%dx%d after orientation %d", m.W, m.H, o)
				}
				pts := [4][2]int{{2, 2}, {m.W - 3, 2}, {2, m.H - 3}, {m.W - 3, m.H - 3}}
				for k, p := range pts {
					px := m.Pix[3*(p[1]*m.W+p[0]):]
					c := corner[want[o][k]]
					if absDiff(px[0], c.R) > 40 || absDiff(px[1], c.G) > 40 || absDiff(px[2], c.B) > 40 {
						t.Fatalf("corner %d shows %v, want source corner %d %v", k, px[:3], want[o][k], c)
					}
				}
				keep, info2, err := Decode(c.data, DecodeOptions{KeepOrientation: true})
				if err != nil || keep.W != 30 || info2.Orientation != 1 {
					t.Fatalf("KeepOrientation: %dx%d %+v %v", keep.W, keep.H, info2, err)
				}
			})
		}
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestDecodeBadImages is the hostile-input table: each input gives a typed error
// with the expected reason (or an image), never a panic, and bounded allocation.
func TestDecodeBadImages(t *testing.T) {
	pngData := encode(t, "png", halves(64, 64))
	jpg := encode(t, "jpeg", halves(64, 64))
	gifData := encode(t, "gif", halves(64, 64))
	webp := golden(t, "photo-64x48-lossless.webp")
	tiffData := encode(t, "tiff", halves(64, 64))
	bmpData := encode(t, "bmp", halves(64, 64))
	tests := []struct {
		name   string
		data   []byte
		max    int64
		reason Reason // "" = decodes
	}{
		{"empty", nil, 0, ReasonEmpty},
		{"text", []byte("this is plain text, not an image"), 0, ReasonNotImage},
		{"png signature only", pngData[:8], 0, ReasonTruncated},
		{"truncated png header", pngData[:20], 0, ReasonTruncated},
		{"truncated png data", pngData[:150], 0, ReasonTruncated},
		{"truncated jpeg", jpg[:len(jpg)/2], 0, ReasonTruncated},
		{"truncated jpeg header", jpg[:30], 0, ReasonTruncated},
		{"truncated gif", gifData[:len(gifData)/2], 0, ReasonTruncated},
		{"truncated webp", webp[:len(webp)/2], 0, ReasonTruncated},
		{"truncated tiff", tiffData[:len(tiffData)/2], 0, ReasonTruncated},
		{"truncated bmp", bmpData[:len(bmpData)/2], 0, ReasonTruncated},
		{"png chunk claims more than the file", append(append([]byte{}, pngData[:8]...), bytes.Repeat([]byte{0x5a}, 64)...), 0, ReasonTruncated},
		{"png with a bad IHDR checksum", flip(pngData, 17), 0, ReasonCorrupt},
		{"png with corrupt image data", flip(pngData, len(pngData)-30), 0, ReasonCorrupt},
		{"jpeg with an unknown marker", []byte{0xFF, 0xD8, 0xFF, 0x01, 0xFF, 0xD9}, 0, ReasonCorrupt},
		{"jpeg without a scan", []byte{0xFF, 0xD8, 0xFF, 0xD9}, 0, ReasonCorrupt},
		{"jpeg with a bad Huffman table", flip(jpg, 161), 0, ReasonCorrupt},
		{"jpeg with 12-bit precision", flip(jpg, 140), 0, ReasonUnsupported},
		{"png 0x16", pngClaiming(t, 0, 16), 0, ReasonEmpty},
		{"png 16x0", pngClaiming(t, 16, 0), 0, ReasonEmpty},
		{"gif 0x0", gifClaiming(t, 0, 0), 0, ReasonEmpty},
		{"png claiming 100000x100000", pngClaiming(t, 100000, 100000), 0, ReasonTooLarge},
		{"png claiming 2^31-1 square", pngClaiming(t, 1<<31-1, 1<<31-1), 0, ReasonTooLarge},
		{"png header lies: 64x64 claims 64x4000", pngLying(t, pngData, 64, 4000), 0, ReasonTruncated},
		{"jpeg claiming 65500x65500", jpegClaiming(t, 65500, 65500), 0, ReasonTooLarge},
		{"gif claiming 65535x65535", gifClaiming(t, 65535, 65535), 0, ReasonTooLarge},
		{"webp claiming 16384x16384", webpClaiming(16384, 16384), 0, ReasonTooLarge},
		{"bmp claiming 100000x100000", bmpClaiming(t, 100000, 100000), 0, ReasonTooLarge},
		{"tiff IFD offset 4 GB past the end", append([]byte("II*\x00\x08\x01\x00\xff"), make([]byte, 400)...), 0, ReasonTruncated},
		{"bomb: real 3000x3000 zero png, 1 MP limit", zeroPNG(t, 3000, 3000), 1 << 20, ReasonTooLarge},
		{"1x100000 png", zeroPNG(t, 1, 100000), 0, ""},
		{"cmyk jpeg", golden(t, "photo-64x48-cmyk.jpg"), 0, ""},
		{"16-bit png", encode(t, "png", image.NewRGBA64(image.Rect(0, 0, 9, 7))), 0, ""},
		{"animated gif", animatedGIF(t), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, _, err := Decode(tt.data, DecodeOptions{MaxPixels: tt.max})
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("decoding allocated %d MB", alloc>>20)
			}
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.W*m.H == 0 {
					t.Fatal("empty image")
				}
				return
			}
			if err == nil {
				t.Fatalf("decoded a %dx%d image, want a %s error", m.W, m.H, tt.reason)
			}
			if got := ReasonOf(err); got != tt.reason {
				t.Fatalf("reason %q (%v), want %q", got, err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "vision: "+string(tt.reason)+": ") {
				t.Fatalf("message %q", err)
			}
		})
	}
}

// flip returns a copy of b with byte i inverted.
func flip(b []byte, i int) []byte {
	out := append([]byte{}, b...)
	out[i] ^= 0xff
	return out
}

// pngLying patches a valid PNG's IHDR to claim more rows than its data holds.
func pngLying(t testing.TB, p []byte, w, h uint32) []byte {
	b := append([]byte{}, p...)
	fixed := pngClaiming(t, w, h)
	copy(b[16:33], fixed[16:33])
	return b
}
