package vision

import (
	"bytes"
	"encoding/binary"
)

// exifOrientation returns the EXIF orientation (1-8) stored in a JPEG APP1
// segment, a PNG eXIf chunk, a WebP EXIF chunk or a TIFF file's first IFD; 1
// when there is none or it cannot be read. It never reads past data.
func exifOrientation(data []byte, format string) int {
	switch format {
	case "jpeg":
		return jpegOrientation(data)
	case "png":
		return pngOrientation(data)
	case "webp":
		return webpOrientation(data)
	case "tiff":
		return tiffOrientation(data)
	}
	return 1
}

func jpegOrientation(d []byte) int {
	if len(d) < 4 || d[0] != 0xFF || d[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(d); {
		if d[i] != 0xFF {
			return 1
		}
		marker := d[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan / end of image: no more metadata
			return 1
		}
		n := int(binary.BigEndian.Uint16(d[i+2:]))
		if n < 2 || i+2+n > len(d) {
			return 1
		}
		seg := d[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

func pngOrientation(d []byte) int {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(d, []byte(sig)) {
		return 1
	}
	for i := len(sig); i+8 <= len(d); {
		n := int(binary.BigEndian.Uint32(d[i:]))
		typ := string(d[i+4 : i+8])
		if n < 0 || n > len(d)-i-12 {
			return 1
		}
		if typ == "eXIf" {
			return tiffOrientation(d[i+8 : i+8+n])
		}
		if typ == "IDAT" || typ == "IEND" { // eXIf must come before the image data
			return 1
		}
		i += 12 + n
	}
	return 1
}

func webpOrientation(d []byte) int {
	if len(d) < 12 || string(d[:4]) != "RIFF" || string(d[8:12]) != "WEBP" {
		return 1
	}
	for i := 12; i+8 <= len(d); {
		n := int(binary.LittleEndian.Uint32(d[i+4:]))
		if n < 0 || n > len(d)-i-8 {
			return 1
		}
		if string(d[i:i+4]) == "EXIF" {
			c := d[i+8 : i+8+n]
			c = bytes.TrimPrefix(c, []byte("Exif\x00\x00"))
			return tiffOrientation(c)
		}
		i += 8 + n + n&1
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from the first IFD of a TIFF structure.
func tiffOrientation(d []byte) int {
	if len(d) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(d[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(d[2:]) != 42 {
		return 1
	}
	off := int64(bo.Uint32(d[4:]))
	if off+2 > int64(len(d)) {
		return 1
	}
	n := int(bo.Uint16(d[off:]))
	for k := range n {
		e := off + 2 + int64(12*k)
		if e+12 > int64(len(d)) {
			return 1
		}
		if bo.Uint16(d[e:]) != 0x0112 {
			continue
		}
		if typ := bo.Uint16(d[e+2:]); typ != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(d[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orient applies an EXIF orientation: the returned image is what a viewer shows.
// Orientations 5-8 swap width and height.
func orient(m *RGB, o int) *RGB {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.W, m.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	out := NewRGB(ow, oh)
	// src maps an output pixel to the source pixel it shows.
	src := func(x, y int) (int, int) {
		switch o {
		case 2: // mirror left-right
			return w - 1 - x, y
		case 3: // rotate 180°
			return w - 1 - x, h - 1 - y
		case 4: // mirror top-bottom
			return x, h - 1 - y
		case 5: // transpose
			return y, x
		case 6: // rotate 90° clockwise
			return y, h - 1 - x
		case 7: // transverse
			return w - 1 - y, h - 1 - x
		default: // 8: rotate 90° counter-clockwise
			return w - 1 - y, x
		}
	}
	for y := range oh {
		for x := range ow {
			sx, sy := src(x, y)
			copy(out.Pix[3*(y*ow+x):3*(y*ow+x)+3], m.Pix[3*(sy*w+sx):])
		}
	}
	return out
}
