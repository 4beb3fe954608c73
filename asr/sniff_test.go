package asr

import "testing"

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), "wav"},
		{"riff but webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8 "), ""},
		{"short riff", []byte("RIFF\x24\x00"), ""},
		{"flac", []byte("fLaC\x00\x00\x00\x22"), "flac"},
		{"id3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), "mp3"},
		{"mpeg-1 layer III frame", []byte{0xFF, 0xFB, 0x90, 0x64}, "mp3"},
		{"mpeg-1 layer II frame", []byte{0xFF, 0xFD, 0x90, 0x64}, ""},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0}, ""},
		{"text", []byte("order KT-4821"), ""},
		{"empty", nil, ""},
	} {
		if got := Sniff(c.data); got != c.want {
			t.Errorf("%s: Sniff = %q, want %q", c.name, got, c.want)
		}
	}
}
