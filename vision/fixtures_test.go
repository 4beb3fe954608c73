package vision

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// halves is a w×h image whose left half is red and right half blue.
func halves(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 255, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 255, A: 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "bmp":
		err = bmp.Encode(&b, img)
	case "tiff":
		err = tiff.Encode(&b, img, nil)
	default:
		t.Fatalf("no encoder for %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIF inserts an APP1 Exif segment with the given orientation after the JPEG SOI.
func withEXIF(jpg []byte, orientation uint16) []byte {
	payload := append([]byte("Exif\x00\x00"), tiffOrientationBlock(orientation)...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// tiffOrientationBlock is a little-endian TIFF header with one IFD entry: Orientation.
func tiffOrientationBlock(orientation uint16) []byte {
	var b bytes.Buffer
	b.WriteString("II*\x00")
	binary.Write(&b, binary.LittleEndian, uint32(8))
	binary.Write(&b, binary.LittleEndian, uint16(1))
	binary.Write(&b, binary.LittleEndian, uint16(0x0112))
	binary.Write(&b, binary.LittleEndian, uint16(3))
	binary.Write(&b, binary.LittleEndian, uint32(1))
	binary.Write(&b, binary.LittleEndian, orientation)
	binary.Write(&b, binary.LittleEndian, uint16(0))
	binary.Write(&b, binary.LittleEndian, uint32(0))
	return b.Bytes()
}

// withPNGChunk inserts a chunk right after IHDR.
func withPNGChunk(p []byte, typ string, data []byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	var c bytes.Buffer
	binary.Write(&c, binary.BigEndian, uint32(len(data)))
	c.WriteString(typ)
	c.Write(data)
	binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, c.Bytes()...)
	return append(out, p[ihdrEnd:]...)
}

// pngClaiming returns a valid 1×1 PNG whose IHDR is patched to claim w×h pixels.
func pngClaiming(t testing.TB, w, h uint32) []byte {
	b := encode(t, "png", halves(1, 1))
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// jpegClaiming patches the SOF0 frame size of a JPEG.
func jpegClaiming(t testing.TB, w, h uint16) []byte {
	b := encode(t, "jpeg", halves(16, 16))
	for i := 2; i+9 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == 0xC0 {
			binary.BigEndian.PutUint16(b[i+5:], h)
			binary.BigEndian.PutUint16(b[i+7:], w)
			return b
		}
	}
	t.Fatal("no SOF0")
	return nil
}

// gifClaiming patches the logical screen size of a GIF.
func gifClaiming(t testing.TB, w, h uint16) []byte {
	b := encode(t, "gif", halves(4, 4))
	binary.LittleEndian.PutUint16(b[6:], w)
	binary.LittleEndian.PutUint16(b[8:], h)
	return b
}

// webpClaiming is a VP8X WebP header claiming a w×h canvas and nothing else.
func webpClaiming(w, h int) []byte {
	var c bytes.Buffer
	c.WriteString("VP8X")
	binary.Write(&c, binary.LittleEndian, uint32(10))
	c.Write([]byte{0, 0, 0, 0})
	c.Write([]byte{byte(w - 1), byte((w - 1) >> 8), byte((w - 1) >> 16), byte(h - 1), byte((h - 1) >> 8), byte((h - 1) >> 16)})
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+c.Len()))
	b.WriteString("WEBP")
	b.Write(c.Bytes())
	return b.Bytes()
}

// bmpClaiming patches the size of a BMP's info header.
func bmpClaiming(t testing.TB, w, h int32) []byte {
	b := encode(t, "bmp", halves(4, 4))
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	return b
}

// animatedGIF has two frames: red, then blue.
func animatedGIF(t testing.TB) []byte {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	f1, f2 := image.NewPaletted(image.Rect(0, 0, 8, 8), pal), image.NewPaletted(image.Rect(0, 0, 8, 8), pal)
	for i := range f2.Pix {
		f2.Pix[i] = 1
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{f1, f2}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zeroPNG is a real w×h all-black PNG (it compresses to almost nothing).
func zeroPNG(t testing.TB, w, h int) []byte {
	return encode(t, "png", image.NewGray(image.Rect(0, 0, w, h)))
}
