package transforms

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// makeWAV builds a WAV file. format is 1 (PCM) or 3 (float); samples are interleaved, in [-1, 1].
func makeWAV(format, bits, rate, channels int, samples []float64) []byte {
	var data bytes.Buffer
	for _, s := range samples {
		switch {
		case format == 3 && bits == 32:
			binary.Write(&data, binary.LittleEndian, math.Float32bits(float32(s)))
		case format == 3 && bits == 64:
			binary.Write(&data, binary.LittleEndian, math.Float64bits(s))
		case bits == 8:
			data.WriteByte(byte(int(math.Round(s*127)) + 128))
		case bits == 16:
			binary.Write(&data, binary.LittleEndian, int16(math.Round(s*32767)))
		case bits == 24:
			v := int32(math.Round(s * 8388607))
			data.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16)})
		case bits == 32:
			binary.Write(&data, binary.LittleEndian, int32(math.Round(s*2147483647)))
		}
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(format))
	binary.Write(&b, binary.LittleEndian, uint16(channels))
	binary.Write(&b, binary.LittleEndian, uint32(rate))
	binary.Write(&b, binary.LittleEndian, uint32(rate*channels*bits/8))
	binary.Write(&b, binary.LittleEndian, uint16(channels*bits/8))
	binary.Write(&b, binary.LittleEndian, uint16(bits))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

// sine returns n frames of a sine at freq Hz, amplitude amp, repeated on each channel.
func sine(freq float64, rate, n, channels int, amp float64) []float64 {
	out := make([]float64, 0, n*channels)
	for i := range n {
		v := amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
		for range channels {
			out = append(out, v)
		}
	}
	return out
}

// testImage is a w×h gradient whose left half is red and right half blue.
func testImage(w, h int) *image.NRGBA {
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
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "bmp":
		err = bmp.Encode(&b, img)
	case "tiff":
		err = tiff.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIFOrientation inserts an APP1 Exif segment with the given orientation after the JPEG SOI.
func withEXIFOrientation(jpg []byte, orientation uint16) []byte {
	var tiffHdr bytes.Buffer
	tiffHdr.WriteString("II*\x00")
	binary.Write(&tiffHdr, binary.LittleEndian, uint32(8))      // IFD offset
	binary.Write(&tiffHdr, binary.LittleEndian, uint16(1))      // one entry
	binary.Write(&tiffHdr, binary.LittleEndian, uint16(0x0112)) // Orientation
	binary.Write(&tiffHdr, binary.LittleEndian, uint16(3))      // SHORT
	binary.Write(&tiffHdr, binary.LittleEndian, uint32(1))
	binary.Write(&tiffHdr, binary.LittleEndian, orientation)
	binary.Write(&tiffHdr, binary.LittleEndian, uint16(0))
	binary.Write(&tiffHdr, binary.LittleEndian, uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiffHdr.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// pngClaiming returns a valid 1×1 PNG whose IHDR is patched to claim w×h pixels.
func pngClaiming(t testing.TB, w, h uint32) []byte {
	b := encode(t, "png", testImage(1, 1))
	// IHDR data starts at 16: width(4) height(4) ...; its CRC covers type+data (bytes 12..29).
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}
