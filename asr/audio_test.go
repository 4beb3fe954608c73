package asr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// ---------------------------------------------------------------------------------------
// Fixture builders

// wavSpec describes a WAV file for makeWAV.
type wavSpec struct {
	tag        int // 1 PCM, 3 float, 7 mu-law, ...
	bits       int
	rate       int
	channels   int
	extensible bool  // write WAVE_FORMAT_EXTENSIBLE with tag as the sub-format
	validBits  int   // extensible: valid bits (0 = bits)
	blockAlign int   // 0 = channels·bits/8
	dataSize   int64 // declared data chunk size; 0 = the real size
	before     []byte
}

// makeWAV encodes interleaved samples in [-1, 1] ([frames·channels]) as s says.
func makeWAV(s wavSpec, samples []float64) []byte {
	le := binary.LittleEndian
	data := make([]byte, 0, len(samples)*s.bits/8)
	for _, v := range samples {
		switch {
		case s.tag == wavFloat && s.bits == 32:
			data = le.AppendUint32(data, math.Float32bits(float32(v)))
		case s.tag == wavFloat && s.bits == 64:
			data = le.AppendUint64(data, math.Float64bits(v))
		case s.bits == 8:
			data = append(data, byte(int(math.Round(v*127))+128))
		case s.bits == 16:
			data = le.AppendUint16(data, uint16(int16(math.Round(v*32767))))
		case s.bits == 24:
			x := int32(math.Round(v * 8388607))
			data = append(data, byte(x), byte(x>>8), byte(x>>16))
		case s.bits == 32:
			data = le.AppendUint32(data, uint32(int32(math.Round(v*2147483647))))
		}
	}
	align := s.blockAlign
	if align == 0 {
		align = s.channels * s.bits / 8
	}
	var f bytes.Buffer
	tag := s.tag
	if s.extensible {
		tag = wavExtensible
	}
	binary.Write(&f, le, uint16(tag))
	binary.Write(&f, le, uint16(s.channels))
	binary.Write(&f, le, uint32(s.rate))
	binary.Write(&f, le, uint32(s.rate*align))
	binary.Write(&f, le, uint16(align))
	binary.Write(&f, le, uint16(s.bits))
	if s.extensible {
		valid := s.validBits
		if valid == 0 {
			valid = s.bits
		}
		binary.Write(&f, le, uint16(22))
		binary.Write(&f, le, uint16(valid))
		binary.Write(&f, le, uint32(0))
		binary.Write(&f, le, uint16(s.tag))
		f.Write(ksSubformatTail)
	}
	size := uint32(len(data))
	if s.dataSize != 0 {
		size = uint32(s.dataSize)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(4+8+f.Len()+len(s.before)+8+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(f.Len()))
	b.Write(f.Bytes())
	b.Write(s.before)
	b.WriteString("data")
	binary.Write(&b, le, size)
	b.Write(data)
	return b.Bytes()
}

// pcm16 is a 16-bit PCM WAV of interleaved samples.
func pcm16(rate, channels int, samples []float64) []byte {
	return makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: rate, channels: channels}, samples)
}

// sines returns n frames of a sine at freq Hz on every channel, channel c at amplitude
// amps[c] (amps[0] for all when there are fewer). [n·channels]
func sines(freq float64, rate, n, channels int, amps ...float64) []float64 {
	out := make([]float64, 0, n*channels)
	for i := range n {
		v := math.Sin(2 * math.Pi * freq * float64(i) / float64(rate))
		for c := range channels {
			out = append(out, v*amps[min(c, len(amps)-1)])
		}
	}
	return out
}

// chunk is a RIFF chunk: id, declared size, body.
func chunk(id string, size uint32, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], size)
	return append(b, body...)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// heldout decodes one of the 16 kHz heldout speech clips with Decode (identity rate).
func heldout(t testing.TB, name string) []float32 {
	t.Helper()
	a, err := Decode(readFile(t, filepath.Join("..", "testdata", "heldout", "speech", name)), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples
}

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

// mp3FrameEnds walks the MPEG frames of b (which starts at one): the end offset of each.
func mp3FrameEnds(b []byte) []int {
	var ends []int
	for off := 0; ; {
		h, ok := parseMP3Header(b[off:])
		if !ok || off+h.size() > len(b) {
			return ends
		}
		off += h.size()
		ends = append(ends, off)
	}
}

// id3 is an ID3v2.4 tag with size bytes of padding.
func id3(size int) []byte {
	h := []byte{'I', 'D', '3', 4, 0, 0, byte(size >> 21 & 0x7F), byte(size >> 14 & 0x7F), byte(size >> 7 & 0x7F), byte(size & 0x7F)}
	return append(h, make([]byte, size)...)
}

// ---------------------------------------------------------------------------------------
// Decoding: formats, rates, layouts, bad input

// TestDecode is the bad-audio table: every row is an input and its expected outcome,
// either decoded audio with the given properties or an *Error with the given reason.
func TestDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	noise := make([]float64, 44100)
	for i := range noise {
		noise[i] = rng.Float64() - 0.5 // uniform in [-0.5, 0.5): RMS 0.289
	}
	square := make([]float64, 44100)
	for i := range square {
		square[i] = 1
		if (i/50)%2 == 1 { // 441 Hz
			square[i] = -1
		}
	}
	fiveCh := sines(440, 48000, 24000, 5, 0.1, 0.2, 0.3, 0.4, 0.5) // mean amplitude 0.3
	wav1s := pcm16(16000, 1, sines(440, 16000, 16000, 1, 0.5))
	wav24 := makeWAV(wavSpec{tag: wavPCM, bits: 24, rate: 48000, channels: 2}, sines(440, 48000, 24000, 2, 0.5))
	tenMin, err := io.ReadAll(newLongWAV(600)) // 19 MB: noise, uniform in ±8,000/32,768
	if err != nil {
		t.Fatal(err)
	}
	speechFLAC := readFile(t, "testdata/speech-16k.flac")
	toneMP3 := readFile(t, "testdata/tone-44k-stereo.mp3")
	starts := flacFrameStarts(speechFLAC)
	if len(starts) < 3 {
		t.Fatalf("found %d FLAC frames in the fixture", len(starts))
	}
	mp3Xing := bytes.Clone(toneMP3) // the Info header of a CBR file, made a VBR header claiming 2^31 frames
	if i := bytes.Index(mp3Xing, []byte("Info")); i < 0 {
		t.Fatal("no Info header in the MP3 fixture")
	} else {
		copy(mp3Xing[i:], "Xing")
		binary.BigEndian.PutUint32(mp3Xing[i+8:], 1<<31)
	}
	mp3First := 10 + (int(toneMP3[6])<<21 | int(toneMP3[7])<<14 | int(toneMP3[8])<<7 | int(toneMP3[9])) // after the ID3 tag
	mp3Ends := mp3FrameEnds(toneMP3[mp3First:])
	mp3Junk := slices.Concat(toneMP3[:mp3First+mp3Ends[5]], []byte("junk between frames"), toneMP3[mp3First+mp3Ends[5]:])
	mp3Cut := bytes.Clone(toneMP3[:mp3First+417*10+300]) // 128 kbit/s: 417 or 418 bytes a frame; cut inside the 11th

	type props struct {
		rate, channels, bits int
		float                bool
		samples              int     // 16 kHz output length (±1)
		peak, rms            float64 // ±0.02; -1 = not checked
	}
	tests := []struct {
		name       string
		in         []byte
		opts       DecodeOptions
		want       *props // nil: an error is expected
		wantReason Reason
		wantMsg    string // substring of the error
	}{
		{name: "silence", in: pcm16(16000, 1, make([]float64, 16000)),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 16000, peak: 0, rms: 0}},
		{name: "white noise 44.1 kHz (band-limited to 7.5 kHz: RMS × √(7.5/22.05))", in: pcm16(44100, 1, noise),
			want: &props{rate: 44100, channels: 1, bits: 16, samples: 16000, peak: -1, rms: 0.289 * math.Sqrt(7.5/22.05)}},
		{name: "clipped full-scale square (Gibbs overshoot clamped)", in: pcm16(44100, 1, square),
			want: &props{rate: 44100, channels: 1, bits: 16, samples: 16000, peak: 1, rms: -1}},
		{name: "8 kHz telephone WAV", in: pcm16(8000, 1, sines(300, 8000, 8000, 1, 0.5)),
			want: &props{rate: 8000, channels: 1, bits: 16, samples: 16000, peak: 0.5, rms: 0.354}},
		{name: "8-bit unsigned 8 kHz", in: makeWAV(wavSpec{tag: wavPCM, bits: 8, rate: 8000, channels: 1}, sines(300, 8000, 8000, 1, 0.5)),
			want: &props{rate: 8000, channels: 1, bits: 8, samples: 16000, peak: 0.5, rms: 0.354}},
		{name: "24-bit stereo 48 kHz", in: wav24,
			want: &props{rate: 48000, channels: 2, bits: 24, samples: 8000, peak: 0.5, rms: 0.354}},
		{name: "32-bit PCM 22.05 kHz", in: makeWAV(wavSpec{tag: wavPCM, bits: 32, rate: 22050, channels: 1}, sines(440, 22050, 11025, 1, 0.5)),
			want: &props{rate: 22050, channels: 1, bits: 32, samples: 8000, peak: 0.5, rms: 0.354}},
		{name: "float32 44.1 kHz stereo", in: makeWAV(wavSpec{tag: wavFloat, bits: 32, rate: 44100, channels: 2}, sines(440, 44100, 22050, 2, 0.5)),
			want: &props{rate: 44100, channels: 2, bits: 32, float: true, samples: 8000, peak: 0.5, rms: 0.354}},
		{name: "float64 11.025 kHz 3 channels", in: makeWAV(wavSpec{tag: wavFloat, bits: 64, rate: 11025, channels: 3}, sines(440, 11025, 11025, 3, 0.5)),
			want: &props{rate: 11025, channels: 3, bits: 64, float: true, samples: 16000, peak: 0.5, rms: 0.354}},
		{name: "WAVE_FORMAT_EXTENSIBLE 20-bit in 24", in: makeWAV(wavSpec{tag: wavPCM, bits: 24, validBits: 20, extensible: true, rate: 96000, channels: 2}, sines(440, 96000, 48000, 2, 0.5)),
			want: &props{rate: 96000, channels: 2, bits: 20, samples: 8000, peak: 0.5, rms: 0.354}},
		{name: "WAVE_FORMAT_EXTENSIBLE float32", in: makeWAV(wavSpec{tag: wavFloat, bits: 32, extensible: true, rate: 32000, channels: 1}, sines(440, 32000, 16000, 1, 0.5)),
			want: &props{rate: 32000, channels: 1, bits: 32, float: true, samples: 8000, peak: 0.5, rms: 0.354}},
		{name: "5-channel WAV averages its channels", in: pcm16(48000, 5, fiveCh),
			want: &props{rate: 48000, channels: 5, bits: 16, samples: 8000, peak: 0.3, rms: 0.3 / math.Sqrt2}},
		{name: "0.05 s clip", in: pcm16(16000, 1, sines(440, 16000, 800, 1, 0.5)),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 800, peak: 0.5, rms: 0.354}},
		{name: "1 kHz source rate (the last 34 ms ring: the sine stops mid-cycle)", in: pcm16(1000, 1, sines(100, 1000, 1000, 1, 0.5)),
			want: &props{rate: 1000, channels: 1, bits: 16, samples: 16000, peak: -1, rms: 0.354}},
		{name: "384 kHz source rate", in: pcm16(384000, 1, sines(440, 384000, 38400, 1, 0.5)),
			want: &props{rate: 384000, channels: 1, bits: 16, samples: 1600, peak: 0.5, rms: 0.354}},
		{name: "LIST chunk before data", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1, before: chunk("LIST", 5, []byte("INFO\x00\x00"))}, sines(440, 16000, 1600, 1, 0.5)),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 1600, peak: 0.5, rms: 0.354}},
		{name: "10-minute WAV, default MaxSeconds", in: tenMin,
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 600 * 16000, peak: 0.244, rms: 0.244 / math.Sqrt(3)}},
		{name: "10-minute WAV, MaxSeconds 60: rejected from the header", in: tenMin, opts: DecodeOptions{MaxSeconds: 60},
			wantReason: ReasonTooLong, wantMsg: "header declares 600.0 s of audio, limit 60 s"},
		{name: "1 s WAV, MaxSeconds 0.5", in: wav1s, opts: DecodeOptions{MaxSeconds: 0.5}, wantReason: ReasonTooLong},
		{name: "streaming WAV (data size 0xFFFFFFFF) decodes what is there", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1, dataSize: 0xFFFFFFFF}, sines(440, 16000, 1600, 1, 0.5)),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 1600, peak: 0.5, rms: 0.354}},
		{name: "streaming WAV past MaxSeconds", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1, dataSize: 0xFFFFFFFF}, sines(440, 16000, 16000, 1, 0.5)),
			opts: DecodeOptions{MaxSeconds: 0.5}, wantReason: ReasonTooLong, wantMsg: "more than 0.5 s"},

		// truncated
		{name: "WAV cut mid-data", in: wav1s[:len(wav1s)/2], wantReason: ReasonTruncated, wantMsg: "16-bit data chunk declares 32,000 bytes, file holds 15,978"},
		{name: "WAV cut inside the fmt chunk", in: wav1s[:30], wantReason: ReasonTruncated},
		{name: "WAV cut before the data chunk", in: wav1s[:40], wantReason: ReasonTruncated, wantMsg: "before the data chunk"},
		{name: "RIFF header only", in: wav1s[:10], wantReason: ReasonTruncated},
		{name: "FLAC cut mid-frame", in: speechFLAC[:starts[1]+100], wantReason: ReasonTruncated, wantMsg: "inside frame 1"},
		{name: "FLAC cut inside STREAMINFO", in: speechFLAC[:20], wantReason: ReasonTruncated},
		{name: "MP3 cut mid-frame", in: mp3Cut, wantReason: ReasonTruncated, wantMsg: "inside frame 10"},
		{name: "MP3 cut at a frame boundary, short of its Info header's length", in: toneMP3[:mp3First+mp3Ends[10]],
			wantReason: ReasonTruncated, wantMsg: "Xing header declares 30,870 samples"},
		{name: "MP3 with a trailing ID3v1 tag", in: append(bytes.Clone(toneMP3), append([]byte("TAG"), make([]byte, 125)...)...),
			want: &props{rate: 44100, channels: 2, samples: 11200, peak: 0.48, rms: 0.336}},
		{name: "MP3 with junk between frames", in: mp3Junk,
			want: &props{rate: 44100, channels: 2, samples: 11200, peak: 0.48, rms: -1}},
		{name: "MP3 cut inside the first frame", in: toneMP3[:mp3First+200], wantReason: ReasonTruncated},

		// lying headers
		{name: "WAV data size 4 GB", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1, dataSize: 4_000_000_000}, sines(440, 16000, 60, 1, 0.5)),
			wantReason: ReasonTruncated, wantMsg: "16-bit data chunk declares 4,000,000,000 bytes, file holds 120"},
		{name: "WAV 24-bit data chunk larger than the file", in: makeWAV(wavSpec{tag: wavPCM, bits: 24, rate: 48000, channels: 1, dataSize: 9_600_000}, sines(440, 48000, 40, 1, 0.5)),
			wantReason: ReasonTruncated, wantMsg: "24-bit data chunk declares 9,600,000 bytes, file holds 120"},
		{name: "WAV fmt chunk size 4 GB", in: append([]byte("RIFF\x00\x00\x00\x00WAVE"), chunk("fmt ", 0xFFFFFFF0, nil)...),
			wantReason: ReasonCorrupt, wantMsg: "fmt chunk declares 4,294,967,280 bytes"},
		{name: "WAV LIST chunk size 4 GB", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1, before: chunk("LIST", 0xFFFFFFF0, []byte("INFO"))}, nil),
			wantReason: ReasonTruncated, wantMsg: `"LIST" chunk declares 4,294,967,280 bytes`},
		{name: "WAV wrong channel count (block align fits 1)", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 2, blockAlign: 2}, sines(440, 16000, 100, 1, 0.5)),
			wantReason: ReasonCorrupt, wantMsg: "block align 2 does not fit 2 channel(s) of 16-bit samples"},
		{name: "WAV 0 channels", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 0, blockAlign: 2}, sines(440, 16000, 100, 1, 0.5)),
			wantReason: ReasonCorrupt},
		{name: "WAV 9 channels", in: pcm16(16000, 9, sines(440, 16000, 100, 9, 0.5)), wantReason: ReasonUnsupported, wantMsg: "9 channels"},
		{name: "WAV 500 Hz", in: pcm16(500, 1, sines(100, 500, 500, 1, 0.5)), wantReason: ReasonUnsupported, wantMsg: "sample rate 500 Hz"},
		{name: "WAV 768 kHz", in: pcm16(768000, 1, sines(100, 768000, 100, 1, 0.5)), wantReason: ReasonUnsupported},
		{name: "WAV NaN float sample", in: makeWAV(wavSpec{tag: wavFloat, bits: 32, rate: 16000, channels: 1}, []float64{0, math.NaN(), 0}),
			wantReason: ReasonCorrupt, wantMsg: "frame 1 is not finite"},
		{name: "FLAC STREAMINFO claims 2^36-1 samples", in: patchFLAC(t, speechFLAC, 0, 1<<36-1), wantReason: ReasonTooLong, wantMsg: "header declares"},
		{name: "FLAC STREAMINFO claims 10x the samples", in: patchFLAC(t, speechFLAC, 0, 166150), wantReason: ReasonTruncated, wantMsg: "STREAMINFO declares 166,150 samples, stream holds 16,615"},
		{name: "FLAC STREAMINFO wrong channel count", in: patchFLAC(t, speechFLAC, 4, -1), wantReason: ReasonCorrupt, wantMsg: "frame 0 has 1 channels, STREAMINFO declares 4"},
		{name: "FLAC STREAMINFO total unknown (0)", in: patchFLAC(t, speechFLAC, 0, 0),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 16615, peak: -1, rms: -1}},
		{name: "FLAC frame bytes flipped", in: func() []byte { b := bytes.Clone(speechFLAC); b[starts[1]+40] ^= 0x55; return b }(), wantReason: ReasonCorrupt},
		{name: "MP3 Xing header claims 2^31 frames", in: mp3Xing, wantReason: ReasonTooLong},

		// containers and codecs
		{name: "FLAC after an ID3 tag", in: append(id3(300), speechFLAC...),
			want: &props{rate: 16000, channels: 1, bits: 16, samples: 16615, peak: -1, rms: -1}},
		{name: "ID3 tag cut short", in: id3(300)[:200], wantReason: ReasonTruncated, wantMsg: "ID3 tag declares 310 bytes, file holds 200"},
		{name: "ID3 tag before text", in: append(id3(10), "hello there"...), wantReason: ReasonNotAudio},
		{name: "mu-law WAV", in: makeWAV(wavSpec{tag: 7, bits: 8, rate: 8000, channels: 1}, sines(440, 8000, 100, 1, 0.5)), wantReason: ReasonUnsupported, wantMsg: "mu-law"},
		{name: "12-bit float WAV", in: makeWAV(wavSpec{tag: wavFloat, bits: 16, rate: 8000, channels: 1}, sines(440, 8000, 100, 1, 0.5)), wantReason: ReasonUnsupported},
		{name: "RIFX (big-endian) WAV", in: append([]byte("RIFX"), wav1s[4:]...), wantReason: ReasonUnsupported},
		{name: "MPEG-2.5 frame", in: []byte{0xFF, 0xE3, 0x18, 0xC4, 0, 0, 0, 0}, wantReason: ReasonUnsupported, wantMsg: "MPEG-2.5"},
		{name: "MPEG-1 Layer II frames", in: bytes.Repeat(append([]byte{0xFF, 0xFD, 0x90, 0x04}, make([]byte, 518)...), 2), // 160 kbit/s: 522 bytes a frame
			wantReason: ReasonUnsupported, wantMsg: "Layer 2"},
		{name: "UTF-16 text (starts like an MPEG header)", in: []byte("\xff\xfeH\x00e\x00l\x00l\x00o\x00 \x00w\x00o\x00r\x00l\x00d\x00"), wantReason: ReasonNotAudio},
		{name: "Ogg", in: []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"), wantReason: ReasonUnsupported},

		// not audio
		{name: "text", in: []byte("this is plain text, not a wav file"), wantReason: ReasonNotAudio},
		{name: "PNG", in: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), wantReason: ReasonNotAudio},
		{name: "RIFF AVI", in: []byte("RIFF\x10\x00\x00\x00AVI LIST"), wantReason: ReasonNotAudio, wantMsg: `RIFF form "AVI "`},
		{name: "random bytes", in: func() []byte {
			b := make([]byte, 1000)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			b[0] = 0
			return b
		}(), wantReason: ReasonNotAudio},
		{name: "empty input", in: nil, wantReason: ReasonEmpty},
		{name: "WAV with an empty data chunk", in: pcm16(16000, 1, nil), wantReason: ReasonEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Decode(tt.in, tt.opts)
			if tt.want == nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Decode = %v (%d samples), want an *Error with reason %s", err, len(a.Samples), tt.wantReason)
				}
				if e.Reason != tt.wantReason || !strings.Contains(e.Error(), tt.wantMsg) {
					t.Fatalf("Decode error = %s: %q, want %s: %q", e.Reason, e.Error(), tt.wantReason, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			w, i := tt.want, a.Info
			if i.SourceRate != w.rate || i.Channels != w.channels || i.BitDepth != w.bits || i.Float != w.float {
				t.Fatalf("info = %+v, want %+v", i, *w)
			}
			if d := len(a.Samples) - w.samples; d < -1 || d > 1 {
				t.Fatalf("got %d samples, want %d", len(a.Samples), w.samples)
			}
			if math.Abs(i.Seconds-float64(w.samples)/SampleRate) > 1e-3 {
				t.Fatalf("Seconds = %.4f, want %.4f", i.Seconds, float64(w.samples)/SampleRate)
			}
			if w.peak >= 0 && math.Abs(float64(i.Peak)-w.peak) > 0.02 {
				t.Fatalf("peak %.4f, want %.3f", i.Peak, w.peak)
			}
			if w.rms >= 0 && math.Abs(float64(i.RMS)-w.rms) > 0.02 {
				t.Fatalf("rms %.4f, want %.3f", i.RMS, w.rms)
			}
			for k, v := range a.Samples {
				if !(v >= -1 && v <= 1) {
					t.Fatalf("sample %d = %v, outside [-1, 1]", k, v)
				}
			}
		})
	}
}

// TestDecodeWAVMatchesSine checks decoded values, not just levels: a 440 Hz sine at
// amplitude 0.5 comes out as the ideal 16 kHz sine, whatever the source format.
func TestDecodeWAVMatchesSine(t *testing.T) {
	tests := []struct {
		name string
		spec wavSpec
		tol  float64
	}{
		{"pcm8 8 kHz", wavSpec{tag: wavPCM, bits: 8, rate: 8000, channels: 1}, 0.02},
		{"pcm16 44.1 kHz stereo", wavSpec{tag: wavPCM, bits: 16, rate: 44100, channels: 2}, 0.002},
		{"pcm24 48 kHz 5 channels", wavSpec{tag: wavPCM, bits: 24, rate: 48000, channels: 5}, 0.002},
		{"pcm32 22.05 kHz", wavSpec{tag: wavPCM, bits: 32, rate: 22050, channels: 1}, 0.002},
		{"float32 96 kHz", wavSpec{tag: wavFloat, bits: 32, rate: 96000, channels: 1}, 0.002},
		{"float64 11.025 kHz", wavSpec{tag: wavFloat, bits: 64, rate: 11025, channels: 2}, 0.002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			a, err := Decode(makeWAV(s, sines(440, s.rate, s.rate/2, s.channels, 0.5)), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i := 1000; i < 7000; i++ {
				want := 0.5 * math.Sin(2*math.Pi*440*float64(i)/SampleRate)
				worst = math.Max(worst, math.Abs(float64(a.Samples[i])-want))
			}
			if worst > tt.tol {
				t.Fatalf("max deviation from the ideal sine %.4f, want <= %.3f", worst, tt.tol)
			}
		})
	}
}

// TestDecodeGoAudioWAV decodes files written by another encoder (go-audio/wav).
func TestDecodeGoAudioWAV(t *testing.T) {
	for _, bits := range []int{16, 24} {
		t.Run(itoa(bits)+"-bit", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.wav")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			full := float64(int(1)<<(bits-1) - 1)
			buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: 2, SampleRate: 22050}, SourceBitDepth: bits}
			for _, v := range sines(440, 22050, 11025, 2, 0.5) {
				buf.Data = append(buf.Data, int(math.Round(v*full)))
			}
			enc := wav.NewEncoder(f, 22050, bits, 2, 1)
			if err := enc.Write(buf); err != nil {
				t.Fatal(err)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			a, err := Decode(readFile(t, path), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Info.BitDepth != bits || a.Info.Channels != 2 || len(a.Samples) != 8000 || math.Abs(float64(a.Info.Peak)-0.5) > 0.01 {
				t.Fatalf("info %+v, %d samples", a.Info, len(a.Samples))
			}
		})
	}
}

// ---------------------------------------------------------------------------------------
// FLAC and MP3 fixtures (testdata/make_fixtures.sh)

// correlation is the Pearson correlation of a and b over their common length, with b
// shifted left by lag samples.
func correlation(a, b []float32, lag int) float64 {
	b = b[min(lag, len(b)):]
	n := min(len(a), len(b))
	var sa, sb, saa, sbb, sab float64
	for i := range n {
		x, y := float64(a[i]), float64(b[i])
		sa, sb, saa, sbb, sab = sa+x, sb+y, saa+x*x, sbb+y*y, sab+x*y
	}
	fn := float64(n)
	return (sab - sa*sb/fn) / math.Sqrt((saa-sa*sa/fn)*(sbb-sb*sb/fn))
}

// bestLag is the lag in lo..hi (clipped at 0) at which b best matches a.
func bestLag(a, b []float32, lo, hi int) (lag int, corr float64) {
	corr = -2
	for l := max(lo, 0); l <= hi; l++ {
		if c := correlation(a, b, l); c > corr {
			lag, corr = l, c
		}
	}
	return lag, corr
}

func TestDecodeFixtures(t *testing.T) {
	tests := []struct {
		file                 string
		format               string
		rate, channels, bits int
		ref                  string  // heldout clip it was made from, "" = a 440 Hz sine at 0.5
		lag                  int     // expected lag of the decode behind the reference, samples at 16 kHz
		minCorr              float64 // correlation with the reference at that lag
	}{
		{"testdata/speech-16k.flac", "flac", 16000, 1, 16, "0003.wav", 0, 1},
		{"testdata/tone-48k-24bit-5ch.flac", "flac", 48000, 5, 24, "", 0, 0.9999},
		{"testdata/tone-44k-stereo.mp3", "mp3", 44100, 2, 0, "", 0, 0.999},
		// No Xing/LAME header: nothing says how much delay to trim, so the decode lags
		// by LAME's encoder delay (576) plus the decoder's (529).
		{"testdata/speech-16k-mono.mp3", "mp3", 16000, 1, 0, "0004.wav", 1105, 0.95},
		{"../testdata/demo/speech/stereo-44k.flac", "flac", 44100, 2, 16, "0001.wav", 0, 0.99},
		{"../testdata/demo/speech/clip.mp3", "mp3", 44100, 1, 0, "0002.wav", 0, 0.95},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			a, err := Decode(readFile(t, tt.file), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			i := a.Info
			if i.Format != tt.format || i.SourceRate != tt.rate || i.Channels != tt.channels || i.BitDepth != tt.bits {
				t.Fatalf("info %v", i)
			}
			var ref []float32
			if tt.ref == "" {
				ref = tone(440, SampleRate, len(a.Samples), 0.5)
			} else {
				ref = heldout(t, tt.ref)
			}
			corr := correlation(ref, a.Samples, tt.lag)
			t.Logf("%v: %d samples (reference %d), correlation %.5f at lag %d", i, len(a.Samples), len(ref), corr, tt.lag)
			if corr < tt.minCorr {
				t.Fatalf("correlation %.5f at lag %d, want >= %.4f", corr, tt.lag, tt.minCorr)
			}
			if lag, best := bestLag(ref, a.Samples, tt.lag-50, tt.lag+50); tt.ref != "" && lag != tt.lag {
				t.Fatalf("the decode matches its source best at lag %d (%.5f), want %d (%.5f)", lag, best, tt.lag, corr)
			}
			if d := math.Abs(float64(len(a.Samples)-tt.lag-len(ref))) / float64(len(ref)); tt.lag == 0 && d > 0.01 {
				t.Fatalf("%d samples, reference has %d: %.2f%% off", len(a.Samples), len(ref), 100*d)
			}
			if tt.minCorr == 1 && !slices.Equal(a.Samples, ref) {
				t.Fatal("lossless FLAC decodes differently from its source WAV")
			}
		})
	}
}

// ---------------------------------------------------------------------------------------
// Streaming

// TestReaderMatchesDecode reads every fixture through NewReader in odd-sized pieces and
// wants Decode's samples and info.
func TestReaderMatchesDecode(t *testing.T) {
	files := []string{"testdata/speech-16k.flac", "testdata/tone-48k-24bit-5ch.flac", "testdata/tone-44k-stereo.mp3",
		"testdata/speech-16k-mono.mp3", "../testdata/demo/speech/stereo-44k.flac", "../testdata/demo/speech/clip.mp3"}
	inputs := map[string][]byte{}
	for _, f := range files {
		inputs[filepath.Base(f)] = readFile(t, f)
	}
	inputs["wav-44.1k-stereo"] = pcm16(44100, 2, sines(440, 44100, 30000, 2, 0.5))
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			want, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(io.MultiReader(bytes.NewReader(data[:7]), bytes.NewReader(data[7:])), DecodeOptions{}) // not a Seeker
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			buf := make([]float32, 333)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, want.Samples) || r.Info() != want.Info {
				t.Fatalf("Reader gave %d samples, %v; Decode %d, %v", len(got), r.Info(), len(want.Samples), want.Info)
			}
		})
	}
}

// longWAV streams a WAV of secs seconds of 16 kHz 16-bit mono noise without holding it.
type longWAV struct {
	header []byte
	left   int64 // data bytes still to produce
	rng    *rand.Rand
}

func newLongWAV(secs int) *longWAV {
	h := pcm16(16000, 1, nil)
	n := int64(secs) * 16000 * 2
	binary.LittleEndian.PutUint32(h[4:], uint32(36+n))
	binary.LittleEndian.PutUint32(h[40:], uint32(n))
	return &longWAV{header: h, left: n, rng: rand.New(rand.NewPCG(3, 4))}
}

func (w *longWAV) Read(p []byte) (int, error) {
	if len(w.header) > 0 {
		n := copy(p, w.header)
		w.header = w.header[n:]
		return n, nil
	}
	if w.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), w.left)&^1]
	for i := 0; i < len(p); i += 2 {
		binary.LittleEndian.PutUint16(p[i:], uint16(int16(w.rng.IntN(16000)-8000)))
	}
	w.left -= int64(len(p))
	return len(p), nil
}

// TestReaderLongAudio streams 10 minutes through NewReader and checks its buffers stay
// a few hundred KB (the audio is 19 MB of WAV, 38 MB of float32), and that MaxSeconds
// rejects it having read only the header.
func TestReaderLongAudio(t *testing.T) {
	r, err := NewReader(newLongWAV(600), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 4096)
	var total, maxHeld int
	for {
		n, err := r.Read(buf)
		total += n
		maxHeld = max(maxHeld, r.bufferedBytes())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != 600*16000 || r.Info().Seconds != 600 {
		t.Fatalf("read %d samples (%.1f s), want %d", total, r.Info().Seconds, 600*16000)
	}
	t.Logf("reader buffers at most %d bytes", maxHeld)
	if maxHeld > 256<<10 {
		t.Fatalf("reader held %d bytes, want <= 256 KiB", maxHeld)
	}

	src := &countingReader{r: newLongWAV(600)}
	_, err = NewReader(src, DecodeOptions{MaxSeconds: 60})
	if ReasonOf(err) != ReasonTooLong || src.n > 32<<10 {
		t.Fatalf("MaxSeconds 60: err %v after reading %d bytes, want too-long from the header", err, src.n)
	}
}

// ---------------------------------------------------------------------------------------
// Fuzzing and benchmarks

func FuzzDecode(f *testing.F) {
	f.Add(pcm16(16000, 1, sines(440, 16000, 64, 1, 0.5)))
	f.Add(makeWAV(wavSpec{tag: wavFloat, bits: 32, rate: 44100, channels: 2}, sines(440, 44100, 64, 2, 0.5)))
	f.Add(makeWAV(wavSpec{tag: wavPCM, bits: 24, validBits: 20, extensible: true, rate: 48000, channels: 3}, sines(440, 48000, 64, 3, 0.5)))
	flacFile := readFile(f, "testdata/speech-16k.flac")
	first := flacFrameStarts(flacFile)[1]
	oneFrame := patchFLAC(f, flacFile[:first], 0, 4096) // a whole stream of one 4,096-sample frame
	f.Add(oneFrame)
	f.Add(append(id3(4), oneFrame...))
	f.Add(readFile(f, "testdata/speech-16k-mono.mp3"))
	mp3File := readFile(f, "testdata/tone-44k-stereo.mp3")
	f.Add(mp3File[:2000])
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Decode(data, DecodeOptions{MaxSeconds: 1})
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if len(a.Samples) > SampleRate+1 || len(a.Samples) == 0 {
			t.Fatalf("%d samples with a 1 s limit", len(a.Samples))
		}
		for i, v := range a.Samples {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("sample %d = %v", i, v)
			}
		}
	})
}

// BenchmarkDecodeResample decodes and resamples to 16 kHz; audio-s/s is seconds of
// audio per second of wall time.
func BenchmarkDecodeResample(b *testing.B) {
	inputs := []struct{ name, file string }{
		{"wav-44.1k-stereo-16bit", ""},
		{"flac-44.1k-stereo", "../testdata/demo/speech/stereo-44k.flac"},
		{"mp3-44.1k-mono-64k", "../testdata/demo/speech/clip.mp3"},
		{"flac-16k-mono", "testdata/speech-16k.flac"},
	}
	for _, in := range inputs {
		var data []byte
		if in.file != "" {
			data = readFile(b, in.file)
		} else {
			data = pcm16(44100, 2, sines(440, 44100, 10*44100, 2, 0.5)) // 10 s
		}
		b.Run(in.name, func(b *testing.B) {
			var secs float64
			for b.Loop() {
				a, err := Decode(data, DecodeOptions{})
				if err != nil {
					b.Fatal(err)
				}
				secs += a.Info.Seconds
			}
			b.ReportMetric(secs/b.Elapsed().Seconds(), "audio-s/s")
		})
	}
}
