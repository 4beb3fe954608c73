package vision

import (
	"bytes"
	"runtime"
	"testing"
)

// fuzzMaxPixels keeps each fuzz input's decode small.
const fuzzMaxPixels = 1 << 16

// FuzzDecodeImage decodes arbitrary bytes the way the caption pipeline does
// (transforms.DecodeImage calls Decode). Seeds (testdata/fuzz/
// FuzzDecodeImage) hold small PNG, JPEG, GIF, BMP, TIFF and WebP images,
// headers claiming huge sizes, EXIF orientations and known decoder bombs.
// Invariants: no panic escapes; every error carries a Reason; a header
// claiming more than MaxPixels is refused as too-large before any pixel is
// decoded (allocating next to nothing); an accepted image has the size its
// header claims (sides swapped when the EXIF orientation rotates it),
// within the limit, with its RGB buffer exactly that size.
func FuzzDecodeImage(f *testing.F) {
	for _, format := range []string{"png", "jpeg", "gif", "bmp", "tiff"} {
		f.Add(encode(f, format, halves(8, 8)))
	}
	f.Add(withEXIF(encode(f, "jpeg", halves(8, 4)), 6))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, info, err := Decode(data, DecodeOptions{MaxPixels: fuzzMaxPixels})
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		// x/image/vp8l sizes its Huffman group table from the stream (up to
		// 65536 groups, ~170 MB) whatever the pixel count.
		if alloc > 256<<20 {
			t.Fatalf("%d bytes of input allocated %d MB", len(data), alloc>>20)
		}
		c := sniff(data)
		claimW, claimH := -1, -1
		if c != nil {
			if cfg, err := c.config(bytes.NewReader(data)); err == nil {
				claimW, claimH = cfg.Width, cfg.Height
			}
		}
		tooLarge := claimW > 0 && claimH > 0 && int64(claimW)*int64(claimH) > fuzzMaxPixels
		if err != nil {
			r := ReasonOf(err)
			switch {
			case r == "":
				t.Fatalf("error without reason: %v", err)
			case c == nil && r != ReasonNotImage && len(data) > 0:
				t.Fatalf("unknown format, reason %s: %v", r, err)
			case tooLarge && r != ReasonTooLarge:
				t.Fatalf("header claims %dx%d, over the limit, but the reason is %s: %v", claimW, claimH, r, err)
			case tooLarge && alloc > 4<<20:
				t.Fatalf("refusing a %dx%d header allocated %d MB: the limit must be checked before decoding", claimW, claimH, alloc>>20)
			}
			return
		}
		if c == nil || info.Format != c.name {
			t.Fatalf("decoded format %q from data sniffed as %v", info.Format, c)
		}
		if tooLarge {
			t.Fatalf("decoded a %dx%d image whose header claims %dx%d, over the limit", m.W, m.H, claimW, claimH)
		}
		w, h := m.W, m.H
		if info.Rotated {
			w, h = h, w
		}
		if w != claimW || h != claimH {
			t.Fatalf("%s: decoded %dx%d (rotated %v), header claims %dx%d", info.Format, m.W, m.H, info.Rotated, claimW, claimH)
		}
		if info.Width != m.W || info.Height != m.H || int64(m.W)*int64(m.H) > fuzzMaxPixels || len(m.Pix) != 3*m.W*m.H {
			t.Fatalf("%dx%d image (info %dx%d) with %d bytes, limit %d pixels", m.W, m.H, info.Width, info.Height, len(m.Pix), fuzzMaxPixels)
		}
	})
}
