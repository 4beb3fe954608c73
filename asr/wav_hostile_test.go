package asr

import (
	"slices"
	"testing"
)

// Hostile WAV headers, one case per class: chunks whose sizes the file does not hold,
// absurd fmt fields, sub-formats this package does not decode, chunks out of order or
// missing, and the leniencies real writers need (wrong RIFF sizes, missing pad bytes,
// 0xFFFFFFFF data sizes, partial frames). Each fault has its own message.

var (
	mono16   = wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1}
	stereo16 = wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 2}
	ext24    = wavSpec{tag: wavPCM, bits: 24, rate: 16000, channels: 1, extensible: true}
)

// fmtChunk is the fmt chunk of s with bytes off.. of its body replaced by with.
func fmtChunk(s wavSpec, off int, with ...byte) []byte {
	f := fmtBody(s)
	copy(f[off:], with)
	return chunk("fmt ", uint32(len(f)), f)
}

// dataChunk is a data chunk holding b, with its true size.
func dataChunk(b []byte) []byte { return chunk("data", uint32(len(b)), b) }

func le16(v uint16) []byte { return []byte{byte(v), byte(v >> 8)} }
func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

// wavHostileCases is the table of hostile WAV inputs (also the WAV fuzz seeds).
func wavHostileCases() []decodeCase {
	pcm := wavSamples(mono16, sines(440, 16000, 400, 1, 0.5))    // 800 bytes, 400 frames
	pcm2 := wavSamples(stereo16, sines(440, 16000, 400, 2, 0.5)) // 1,600 bytes, 400 frames
	pcm24 := wavSamples(ext24, sines(440, 16000, 400, 1, 0.5))   // 1,200 bytes
	good := riff(fmtChunk(mono16, 0), dataChunk(pcm))            // 844 bytes
	ok400 := &props{rate: 16000, channels: 1, bits: 16, samples: 400, peak: 0.5, rms: 0.354}
	ok400x2 := &props{rate: 16000, channels: 2, bits: 16, samples: 400, peak: 0.5, rms: 0.354}
	guid := []byte{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20}
	emptyChunks := slices.Repeat(chunk("JUNK", 0, nil), 100)
	return []decodeCase{
		// chunk sizes the file does not hold: checked before anything is skipped
		{name: "LIST chunk declaring 4 GiB in a 1 KB file", in: riff(fmtChunk(mono16, 0), chunk("LIST", 0xFFFFFF00, []byte("INFOISFT")), dataChunk(pcm)),
			wantReason: ReasonTruncated, wantMsg: `wav: "LIST" chunk declares 4,294,967,040 bytes, file holds 816 (chunk header at byte 36)`},
		{name: "JUNK chunk declaring 2 GiB before fmt", in: riff(chunk("JUNK", 1<<31, make([]byte, 28)), fmtChunk(mono16, 0), dataChunk(pcm)),
			wantReason: ReasonTruncated, wantMsg: `"JUNK" chunk declares 2,147,483,648 bytes, file holds 860 (chunk header at byte 12)`},
		{name: "chunk with a binary id declaring 4 GiB", in: riff(fmtChunk(mono16, 0), chunk("\x00\x01\xfe\xff", 0xFFFFFFFF, pcm)),
			wantReason: ReasonTruncated, wantMsg: `"\x00\x01\xfe\xff" chunk declares 4,294,967,295 bytes, file holds 800`},
		{name: "fmt chunk cut short", in: riff(chunk("fmt ", 16, fmtBody(mono16)[:10])),
			wantReason: ReasonTruncated, wantMsg: "fmt chunk declares 16 bytes, file holds 10 (chunk header at byte 12)"},
		{name: "data chunk declaring 4 GiB - 2", in: riff(fmtChunk(mono16, 0), chunk("data", 0xFFFFFFFE, pcm)),
			wantReason: ReasonTruncated, wantMsg: "16-bit data chunk declares 4,294,967,294 bytes, file holds 800 (chunk header at byte 36)",
			streamReason: ReasonTooLong},

		// padding and RIFF sizes: lenient
		{name: "odd-sized chunk with its pad byte", in: riff(fmtChunk(mono16, 0), chunk("LIST", 5, []byte("INFO\x00\x00")), dataChunk(pcm)), want: ok400},
		{name: "odd-sized chunk without its pad byte", in: riff(fmtChunk(mono16, 0), chunk("LIST", 5, []byte("INFOx")), dataChunk(pcm)), want: ok400},
		{name: "100 empty chunks", in: riff(fmtChunk(mono16, 0), emptyChunks, dataChunk(pcm)), want: ok400},
		{name: "RIFF size 0", in: withRIFFSize(good, 0), want: ok400},
		{name: "RIFF size 4 (only the form type)", in: withRIFFSize(good, 4), want: ok400},
		{name: "RIFF size twice the file", in: withRIFFSize(good, 2*844), want: ok400},
		{name: "ffmpeg to a pipe: RIFF and data sizes 0xFFFFFFFF", in: withRIFFSize(riff(fmtChunk(mono16, 0), chunk("data", 0xFFFFFFFF, pcm)), 0xFFFFFFFF), want: ok400},
		{name: "data size 0xFFFFFFFF, partial last frame dropped", in: riff(fmtChunk(stereo16, 0), chunk("data", 0xFFFFFFFF, append(pcm2, 1, 2, 3))), want: ok400x2},
		{name: "data chunk not a whole number of frames: partial frame dropped", in: riff(fmtChunk(stereo16, 0), dataChunk(append(pcm2, 1, 2))), want: ok400x2},

		// fmt fields
		{name: "65,535 channels", in: riff(fmtChunk(mono16, 2, le16(65535)...), dataChunk(pcm)),
			wantReason: ReasonUnsupported, wantMsg: "wav: fmt chunk declares 65535 channels, at most 64"},
		{name: "64 channels decode", in: pcm16(16000, 64, sines(440, 16000, 400, 64, 0.5)),
			want: &props{rate: 16000, channels: 64, bits: 16, samples: 400, peak: 0.5, rms: 0.354}},
		{name: "9 channels decode", in: pcm16(16000, 9, sines(440, 16000, 400, 9, 0.5)),
			want: &props{rate: 16000, channels: 9, bits: 16, samples: 400, peak: 0.5, rms: 0.354}},
		{name: "0 channels", in: riff(fmtChunk(mono16, 2, 0, 0), dataChunk(pcm)), wantReason: ReasonCorrupt, wantMsg: "wav: fmt chunk declares 0 channels"},
		{name: "sample rate 0", in: riff(fmtChunk(mono16, 4, le32(0)...), dataChunk(pcm)), wantReason: ReasonCorrupt, wantMsg: "fmt chunk declares sample rate 0 Hz"},
		{name: "sample rate 999 Hz", in: riff(fmtChunk(mono16, 4, le32(999)...), dataChunk(pcm)),
			wantReason: ReasonUnsupported, wantMsg: "fmt chunk declares sample rate 999 Hz (1,000 .. 384,000 Hz supported)"},
		{name: "sample rate 4,294,967,295 Hz", in: riff(fmtChunk(mono16, 4, le32(0xFFFFFFFF)...), dataChunk(pcm)),
			wantReason: ReasonUnsupported, wantMsg: "fmt chunk declares sample rate 4,294,967,295 Hz"},
		{name: "0 bits per sample", in: riff(fmtChunk(mono16, 14, 0, 0), dataChunk(pcm)), wantReason: ReasonCorrupt, wantMsg: "fmt chunk declares 0 bits per sample"},
		{name: "4-bit PCM", in: riff(fmtChunk(mono16, 14, 4, 0), dataChunk(pcm)), wantReason: ReasonUnsupported, wantMsg: "fmt chunk declares 4-bit PCM (8 .. 32 supported)"},
		{name: "40-bit PCM", in: riff(fmtChunk(wavSpec{tag: wavPCM, bits: 40, rate: 16000, channels: 1}, 0), dataChunk(pcm)),
			wantReason: ReasonUnsupported, wantMsg: "fmt chunk declares 40-bit PCM"},
		{name: "16-bit IEEE float", in: riff(fmtChunk(wavSpec{tag: wavFloat, bits: 16, rate: 16000, channels: 1}, 0), dataChunk(pcm)),
			wantReason: ReasonUnsupported, wantMsg: "fmt chunk declares 16-bit IEEE float (32 and 64 supported)"},
		{name: "block align 0", in: riff(fmtChunk(mono16, 12, 0, 0), dataChunk(pcm)),
			wantReason: ReasonCorrupt, wantMsg: "fmt chunk declares block align 0 (want 2 for 1 channel(s) of 16-bit samples)"},
		{name: "block align 3 for 16-bit mono", in: riff(fmtChunk(mono16, 12, 3, 0), dataChunk(pcm)),
			wantReason: ReasonCorrupt, wantMsg: "block align 3 does not fit 1 channel(s) of 16-bit samples (want 2)"},
		{name: "format tag 0x1234", in: riff(fmtChunk(mono16, 0, 0x34, 0x12), dataChunk(pcm)),
			wantReason: ReasonUnsupported, wantMsg: "format tag 0x1234 (unknown); PCM and IEEE float are supported"},

		// WAVE_FORMAT_EXTENSIBLE
		{name: "extensible with an unknown sub-format GUID", in: riff(fmtChunk(ext24, 24, guid...), dataChunk(pcm24)),
			wantReason: ReasonUnsupported, wantMsg: "WAVE_FORMAT_EXTENSIBLE sub-format {14131211-1615-1817-191A-1B1C1D1E1F20} is not PCM or IEEE float"},
		{name: "extensible with the mu-law sub-format", in: riff(fmtChunk(ext24, 24, 7), dataChunk(pcm24)),
			wantReason: ReasonUnsupported, wantMsg: "sub-format {00000007-0000-0010-8000-00AA00389B71} (mu-law) is not PCM or IEEE float"},
		{name: "extensible fmt chunk of 18 bytes", in: riff(chunk("fmt ", 18, fmtBody(ext24)[:18]), dataChunk(pcm24)),
			wantReason: ReasonCorrupt, wantMsg: "WAVE_FORMAT_EXTENSIBLE fmt chunk declares 18 bytes, want at least 40"},
		{name: "extensible with 32 valid bits in 24-bit samples", in: riff(fmtChunk(ext24, 18, 32, 0), dataChunk(pcm24)),
			wantReason: ReasonCorrupt, wantMsg: "WAVE_FORMAT_EXTENSIBLE declares 32 valid bits in 24-bit samples"},
		{name: "extensible with 0 valid bits (all of them)", in: riff(fmtChunk(ext24, 18, 0, 0), dataChunk(pcm24)),
			want: &props{rate: 16000, channels: 1, bits: 24, samples: 400, peak: 0.5, rms: 0.354}},

		// fmt chunk size, order, presence
		{name: "fmt chunk of 14 bytes", in: riff(chunk("fmt ", 14, fmtBody(mono16)[:14]), dataChunk(pcm)),
			wantReason: ReasonCorrupt, wantMsg: "fmt chunk declares 14 bytes, want 16 .. 65,536 (chunk header at byte 12)"},
		{name: "fmt chunk of 51 bytes (the rest and the pad passed over)", in: riff(chunk("fmt ", 51, append(fmtBody(mono16), make([]byte, 36)...)), dataChunk(pcm)), want: ok400},
		{name: "second fmt chunk", in: riff(fmtChunk(mono16, 0), fmtChunk(stereo16, 0), dataChunk(pcm)),
			wantReason: ReasonCorrupt, wantMsg: "second fmt chunk at byte 36 (the first is at byte 12)"},
		{name: "data chunk before the fmt chunk", in: riff(dataChunk(pcm), fmtChunk(mono16, 0)),
			wantReason: ReasonCorrupt, wantMsg: "data chunk at byte 12 comes before the fmt chunk"},
		{name: "no data chunk", in: riff(fmtChunk(mono16, 0), chunk("LIST", 4, []byte("INFO"))),
			wantReason: ReasonTruncated, wantMsg: "file ends after 48 bytes, before the data chunk"},
		{name: "no chunks at all", in: riff(), wantReason: ReasonTruncated, wantMsg: "file ends after 12 bytes, before the fmt chunk"},
		{name: "file ends inside a chunk header", in: append(riff(fmtChunk(mono16, 0)), "dat"...),
			wantReason: ReasonTruncated, wantMsg: "file ends after 39 bytes, inside the chunk header at byte 36, before the data chunk"},

		// empty data
		{name: "data chunk declaring 0 bytes, with audio after it", in: riff(fmtChunk(mono16, 0), chunk("data", 0, pcm)),
			wantReason: ReasonEmpty, wantMsg: "data chunk declares 0 bytes (chunk header at byte 36), though 800 bytes follow it"},
		{name: "data chunk smaller than a frame", in: riff(fmtChunk(stereo16, 0), dataChunk([]byte{1, 2, 3})),
			wantReason: ReasonEmpty, wantMsg: "data chunk declares 3 bytes, less than one 4-byte frame (chunk header at byte 36)"},
		{name: "data size 0xFFFFFFFF with no data", in: riff(fmtChunk(mono16, 0), chunk("data", 0xFFFFFFFF, nil)),
			wantReason: ReasonEmpty, wantMsg: "no samples"},
	}
}

func TestDecodeWAVHostile(t *testing.T) { runDecodeCases(t, wavHostileCases()) }
