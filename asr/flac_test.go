package asr

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// flacStreamInfo returns the offset of the STREAMINFO body in a FLAC file.
func flacStreamInfo(t testing.TB, b []byte) int {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("fLaC")) || b[4]&0x7F != 0 {
		t.Fatal("not a FLAC file starting with STREAMINFO")
	}
	return 8
}

// patchFLAC returns a copy of a FLAC file with STREAMINFO's channel count and total
// samples replaced (channels 0 = unchanged, total < 0 = unchanged).
func patchFLAC(t testing.TB, b []byte, channels int, total int64) []byte {
	t.Helper()
	b = bytes.Clone(b)
	si := b[flacStreamInfo(t, b):]
	// STREAMINFO bytes 10..17: rate (20 bits), channels-1 (3), bps-1 (5), total (36).
	x := binary.BigEndian.Uint64(si[10:])
	if channels > 0 {
		x = x&^(7<<41) | uint64(channels-1)<<41
	}
	if total >= 0 {
		x = x&^(1<<36-1) | uint64(total)
	}
	binary.BigEndian.PutUint64(si[10:], x)
	return b
}

// flacFrameStarts finds the frame sync codes (0xFFF8) after STREAMINFO: frame offsets.
func flacFrameStarts(b []byte) []int {
	var starts []int
	for i := 42; i+1 < len(b); i++ {
		if b[i] == 0xFF && b[i+1] == 0xF8 {
			starts = append(starts, i)
		}
	}
	return starts
}

// withFLACBlock is a copy of the FLAC file b with a metadata block (header: type, the
// declared length; then body) inserted right after STREAMINFO.
func withFLACBlock(t testing.TB, b []byte, typ byte, length int, body []byte) []byte {
	t.Helper()
	si := flacStreamInfo(t, b)
	head := bytes.Clone(b[:si+flacStreamInfoLen])
	last := head[4] & 0x80
	head[4] &^= 0x80
	block := []byte{typ | last, byte(length >> 16), byte(length >> 8), byte(length)}
	return slices.Concat(head, block, body, b[si+flacStreamInfoLen:])
}

// patchFLACFormat is a copy of the FLAC file b with STREAMINFO's sample rate (rate < 0 =
// unchanged) and bits per sample (bits 0 = unchanged) replaced.
func patchFLACFormat(t testing.TB, b []byte, rate, bits int) []byte {
	t.Helper()
	b = bytes.Clone(b)
	si := b[flacStreamInfo(t, b):]
	// STREAMINFO bytes 10..17: rate (20 bits), channels-1 (3), bps-1 (5), total (36).
	x := binary.BigEndian.Uint64(si[10:])
	if rate >= 0 {
		x = x&^((1<<20-1)<<44) | uint64(rate)<<44
	}
	if bits > 0 {
		x = x&^(31<<36) | uint64(bits-1)<<36
	}
	binary.BigEndian.PutUint64(si[10:], x)
	return b
}

// patchStreamInfo is a copy of the FLAC file b with STREAMINFO bytes off.. replaced.
func patchStreamInfo(t testing.TB, b []byte, off int, with ...byte) []byte {
	t.Helper()
	b = bytes.Clone(b)
	copy(b[flacStreamInfo(t, b)+off:], with)
	return b
}

// TestDecodeFLAC is the table of FLAC streams cut short or with lying STREAMINFO, and
// of the hostile metadata classes: blocks whose declared length the file does not hold,
// a first block that is not STREAMINFO, impossible rates and sample sizes.
func TestDecodeFLAC(t *testing.T) {
	speechFLAC := readFile(t, "testdata/speech-16k.flac")
	starts := flacFrameStarts(speechFLAC)
	if len(starts) < 3 {
		t.Fatalf("found %d FLAC frames in the fixture", len(starts))
	}
	small := patchFLAC(t, speechFLAC[:starts[1]], 0, 4096) // a whole stream of one 4,096-sample frame
	runDecodeCases(t, []decodeCase{
		{name: "FLAC cut mid-frame", in: speechFLAC[:starts[1]+100], wantReason: ReasonTruncated, wantMsg: "inside frame 1"},
		{name: "FLAC cut inside STREAMINFO", in: speechFLAC[:20], wantReason: ReasonTruncated},
		{name: "FLAC STREAMINFO claims 2^36-1 samples", in: patchFLAC(t, speechFLAC, 0, 1<<36-1), wantReason: ReasonTooLong, wantMsg: "header declares"},
		{name: "FLAC STREAMINFO claims 10x the samples", in: patchFLAC(t, speechFLAC, 0, 166150), wantReason: ReasonTruncated, wantMsg: "STREAMINFO declares 166,150 samples, stream holds 16,615"},
		{name: "FLAC STREAMINFO wrong channel count", in: patchFLAC(t, speechFLAC, 4, -1), wantReason: ReasonCorrupt, wantMsg: "frame 0 has 1 channels, STREAMINFO declares 4"},
		{name: "FLAC STREAMINFO total unknown (0)", in: patchFLAC(t, speechFLAC, 0, 0),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 16615, peak: -1, rms: -1}},
		{name: "FLAC frame bytes flipped", in: func() []byte { b := bytes.Clone(speechFLAC); b[starts[1]+40] ^= 0x55; return b }(), wantReason: ReasonCorrupt},
		{name: "FLAC after an ID3 tag", in: append(id3(300), speechFLAC...),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 16615, peak: -1, rms: -1}},
	})
	runDecodeCases(t, flacHostileCases(t, small, 4096))
}

// flacHostileCases is the table of hostile FLAC metadata (also FLAC fuzz seeds), made
// from small, a FLAC file of one n-sample 16 kHz 16-bit mono frame.
func flacHostileCases(t testing.TB, small []byte, n int) []decodeCase {
	ok := &props{rate: 16000, channels: 1, bits: 16, samples: n, peak: -1, rms: -1}
	return []decodeCase{
		{name: "PICTURE block declaring 16 MiB in a small file", in: withFLACBlock(t, small, 6, 1<<24-1, []byte("image/png")),
			wantReason: ReasonTruncated, wantMsg: "PICTURE block declares 16,777,215 bytes, file holds "},
		{name: "VORBIS_COMMENT block declaring more than the file, the last block", in: withFLACBlock(t, small[:42], 4, 50_000, []byte("vendor")),
			wantReason: ReasonTruncated, wantMsg: "VORBIS_COMMENT block declares 50,000 bytes, file holds 6"},
		{name: "64 KiB PADDING block is passed over", in: withFLACBlock(t, small, 1, 64<<10, make([]byte, 64<<10)),
			want: ok},
		{name: "reserved block type is passed over", in: withFLACBlock(t, small, 50, 3, []byte{1, 2, 3}),
			want: ok},
		{name: "invalid block type 127", in: withFLACBlock(t, small, 127, 3, []byte{1, 2, 3}),
			wantReason: ReasonCorrupt, wantMsg: "metadata block of invalid type 127 (block header at byte 42)"},
		{name: "second STREAMINFO", in: withFLACBlock(t, small, 0, 34, small[8:42]),
			wantReason: ReasonCorrupt, wantMsg: "second STREAMINFO block (block header at byte 42)"},
		{name: "first block not STREAMINFO", in: slices.Concat([]byte("fLaC\x81\x00\x00\x04"), make([]byte, 4), small[4:]),
			wantReason: ReasonCorrupt, wantMsg: "first metadata block is PADDING (block header at byte 4), want STREAMINFO"},
		{name: "STREAMINFO declaring 16 MiB", in: patchFLACHeader(small, 0x00, 0xFF, 0xFF, 0xFF),
			wantReason: ReasonCorrupt, wantMsg: "STREAMINFO block declares 16,777,215 bytes, want 34"},
		{name: "no block marked last", in: patchFLACHeader(small[:42], small[4]&^0x80, 0, 0, 34),
			wantReason: ReasonTruncated, wantMsg: "file ends after 42 bytes, inside the metadata (no block is marked last)"},
		{name: "signature only", in: []byte("fLaC"), wantReason: ReasonTruncated, wantMsg: "file ends after 4 bytes, before STREAMINFO"},
		{name: "STREAMINFO sample rate 0", in: patchFLACFormat(t, small, 0, 0), wantReason: ReasonCorrupt, wantMsg: "STREAMINFO declares sample rate 0 Hz"},
		{name: "STREAMINFO sample rate 1,048,575 Hz", in: patchFLACFormat(t, small, 1<<20-1, 0),
			wantReason: ReasonUnsupported, wantMsg: "STREAMINFO declares sample rate 1,048,575 Hz"},
		{name: "STREAMINFO 2-bit samples", in: patchFLACFormat(t, small, -1, 2),
			wantReason: ReasonCorrupt, wantMsg: "STREAMINFO declares 2-bit samples"},
		{name: "STREAMINFO minimum block size 0 (informational) decodes", in: patchStreamInfo(t, small, 0, 0, 0),
			want: ok},
		{name: "metadata only, no frames", in: small[:flacFrameStarts(small)[0]], wantReason: ReasonTruncated, wantMsg: "STREAMINFO declares " + commas(int64(n)) + " samples, stream holds 0"},
	}
}

// patchFLACHeader is a copy of b with the STREAMINFO block header (bytes 4..7) replaced.
func patchFLACHeader(b []byte, h ...byte) []byte {
	b = bytes.Clone(b)
	copy(b[4:8], h)
	return b
}
