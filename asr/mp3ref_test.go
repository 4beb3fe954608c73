package asr

import (
	"bytes"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/hajimehoshi/go-mp3"
)

// mp3Reference decodes data with github.com/hajimehoshi/go-mp3 (the decoder asr used
// before its own), trims it as mp3Source does, averages the channels and resamples
// to 16 kHz: the path Decode's MP3 output is checked against.
func mp3Reference(t testing.TB, data []byte) []float32 {
	t.Helper()
	in := newInput(bytes.NewReader(data))
	if _, err := sniff(in); err != nil {
		t.Fatal(err)
	}
	b, _ := in.Peek(4)
	first, _ := parseMP3Header(b)
	m := &mp3Frames{r: in, first: first}
	if err := m.next(); err != nil {
		t.Fatal(err)
	}
	skip, left := int64(0), int64(-1)
	if total, delay, padding, ok := xingHeader(m.frame, first); ok {
		m.off = len(m.frame)
		if n := total * int64(first.samples()); total > 0 && delay >= 0 && int64(delay+padding) < n {
			skip, left = int64(delay)+mp3DecoderDelay, n-int64(delay+padding)
		}
	}
	dec, err := mp3.NewDecoder(m)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := io.ReadAll(dec)
	if err != nil {
		t.Fatal(err)
	}
	mono := make([]float32, len(pcm)/4) // go-mp3 gives 16-bit stereo, mono streams doubled
	for i := range mono {
		l, r := int16(uint16(pcm[4*i])|uint16(pcm[4*i+1])<<8), int16(uint16(pcm[4*i+2])|uint16(pcm[4*i+3])<<8)
		mono[i] = float32(int32(l)+int32(r)) * (1.0 / 65536)
	}
	mono = mono[min(skip, int64(len(mono))):]
	if left >= 0 && int64(len(mono)) > left {
		mono = mono[:left]
	}
	out, err := Resample(mono, first.rate, SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snr compares got with want over their common length: the signal-to-noise ratio in
// dB (want's energy over the difference's) and the largest difference.
func snr(want, got []float32) (db, maxErr float64) {
	var sig, noise float64
	for i := range min(len(want), len(got)) {
		d := float64(got[i]) - float64(want[i])
		sig += float64(want[i]) * float64(want[i])
		noise += d * d
		maxErr = max(maxErr, math.Abs(d))
	}
	if noise == 0 {
		return math.Inf(1), 0
	}
	return 10 * math.Log10(sig/noise), maxErr
}

// TestMP3MatchesReference decodes MP3 files at every MPEG-1 and MPEG-2 rate, mono,
// L/R and M/S stereo, with short blocks (clicks, on one channel of the L/R file so
// its channels' blocks differ), and speech, pink noise to 24 kHz and an 11 kHz tone
// (which the 16 kHz output must drop), and requires the output to match the
// reference path within 40 dB SNR, at the same length.
func TestMP3MatchesReference(t *testing.T) {
	const minSNR = 40 // dB
	tests := []struct {
		file   string
		want   mp3Coding // at least this many of each
		noXing bool      // drop the Xing frame: nothing to trim, output phase 0
	}{
		{file: "testdata/noisy-48k-ms.mp3", want: mp3Coding{short: 5, ms: 100}, noXing: true},
		{file: "testdata/noisy-48k-crc.mp3", want: mp3Coding{lr: 50}}, // CRC-protected frames
		{file: "testdata/noisy-48k-ms.mp3", want: mp3Coding{short: 5, ms: 100}},
		{file: "testdata/noisy-48k-lr.mp3", want: mp3Coding{short: 5, lr: 100}},
		{file: "testdata/noisy-44k-lr.mp3", want: mp3Coding{short: 5, lr: 50}},
		{file: "testdata/noisy-32k-js.mp3", want: mp3Coding{short: 5, lr: 50}},
		{file: "testdata/noisy-24k-mono.mp3", want: mp3Coding{short: 5}},
		{file: "testdata/noisy-22k-ms.mp3", want: mp3Coding{short: 5, ms: 30}},
		{file: "testdata/tone-44k-stereo.mp3", want: mp3Coding{ms: 10}},
		{file: "testdata/speech-16k-mono.mp3", want: mp3Coding{}},
		{file: "../testdata/demo/speech/clip.mp3", want: mp3Coding{}},
	}
	for _, tt := range tests {
		name := tt.file
		if tt.noXing {
			name += " without Xing"
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if tt.noXing {
				data = withoutXing(data)
			}
			got := codingOf(data)
			t.Logf("coding: %+v", got)
			if got.short < tt.want.short || got.ms < tt.want.ms || got.lr < tt.want.lr || got.differ < tt.want.differ {
				t.Errorf("the file codes %+v, want at least %+v", got, tt.want)
			}
			want := mp3Reference(t, data)
			a, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			db, maxErr := snr(want, a.Samples)
			t.Logf("%v: %d samples (reference %d), SNR %.1f dB, max error %.5f", a.Info, len(a.Samples), len(want), db, maxErr)
			if len(a.Samples) != len(want) {
				t.Errorf("%d samples, reference %d", len(a.Samples), len(want))
			}
			if db < minSNR {
				t.Errorf("SNR %.1f dB against the reference, want >= %d", db, minSNR)
			}
		})
	}
}

// TestMP3ChannelPaths decodes stereo files with every granule on the general path
// (channels requantized, stereo processed and transformed apart, as when their
// blocks differ, which LAME never writes) and requires the fast paths' output (the
// mid channel alone for M/S, the channels summed before the IMDCT for L/R) to equal
// it up to rounding.
func TestMP3ChannelPaths(t *testing.T) {
	for _, file := range []string{"testdata/noisy-48k-ms.mp3", "testdata/noisy-48k-lr.mp3", "testdata/noisy-22k-ms.mp3"} {
		t.Run(file, func(t *testing.T) {
			data := readFile(t, file)
			fast, general := decodeFrames(data, false), decodeFrames(data, true)
			db, maxErr := snr(general, fast)
			t.Logf("%d samples, SNR %.1f dB, max difference %.2g", len(fast), db, maxErr)
			if len(fast) != len(general) || db < 100 {
				t.Errorf("fast paths differ from the general one: SNR %.1f dB", db)
			}
		})
	}
}

// TestMP3Parallel decodes 20 s of MP3 (a fixture's frames repeated) with two
// goroutines (batches of frames decoded in two halves, the second warmed up on the
// frames before it; the resampler's outputs split in two) and with one, and requires
// the same samples, bit for bit.
func TestMP3Parallel(t *testing.T) {
	for _, file := range []string{"testdata/noisy-48k-ms.mp3", "testdata/noisy-48k-lr.mp3", "testdata/noisy-24k-mono.mp3", "testdata/noisy-22k-ms.mp3"} {
		t.Run(file, func(t *testing.T) {
			data := repeatFrames(readFile(t, file), 20)
			decode := func(procs int) []float32 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				a, err := Decode(data, DecodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return a.Samples
			}
			one, two := decode(1), decode(2)
			if !slices.Equal(one, two) {
				db, maxErr := snr(one, two)
				t.Errorf("two goroutines decode %d samples, one %d: SNR %.1f dB, max difference %.2g", len(two), len(one), db, maxErr)
			}
		})
	}
}

// decodeFrames decodes every frame of data (after an ID3 tag) with mp3Decoder,
// untrimmed.
func decodeFrames(data []byte, separate bool) []float32 {
	if bytes.HasPrefix(data, []byte("ID3")) {
		data = data[10+(int(data[6])<<21|int(data[7])<<14|int(data[8])<<7|int(data[9])):]
	}
	first, _ := parseMP3Header(data)
	d := newMP3Decoder(first, 0)
	d.separate = separate
	var out []float32
	for off := 0; ; {
		h, ok := parseMP3Header(data[off:])
		if !ok || off+h.size() > len(data) {
			return out
		}
		out = d.frame(data[off:off+h.size()], out)
		off += h.size()
	}
}

// mp3Coding counts how a file's granules are coded.
type mp3Coding struct {
	short  int // granule channels of short blocks
	ms, lr int // stereo granules coded M/S, L/R
	differ int // stereo granules whose channels' blocks differ
}

// codingOf reads the side information of the MPEG frames in data (after an ID3 tag).
func codingOf(data []byte) (c mp3Coding) {
	if bytes.HasPrefix(data, []byte("ID3")) {
		data = data[10+(int(data[6])<<21|int(data[7])<<14|int(data[8])<<7|int(data[9])):]
	}
	for off := 0; ; {
		h, ok := parseMP3Header(data[off:])
		if !ok || off+h.size() > len(data) {
			return c
		}
		f := data[off : off+h.size()]
		off += h.size()
		side := make([]byte, 32+mp3BitsPad)
		at := 4
		if h.crc {
			at += 2
		}
		copy(side, f[at:])
		var s mp3Side
		parseSide(side, h, &s)
		grs, nch := 2, 2
		if h.version != 1 {
			grs = 1
		}
		if h.mono {
			nch = 1
		}
		for gr := range grs {
			for ch := range nch {
				if s.gr[gr][ch].isShort() {
					c.short++
				}
			}
			if nch == 2 {
				if f[3]>>6 == 1 && f[3]>>4&2 != 0 {
					c.ms++
				} else {
					c.lr++
				}
				if !sameBlocks(&s.gr[gr][0], &s.gr[gr][1]) {
					c.differ++
				}
			}
		}
	}
}

// BenchmarkDecodeMP3Long decodes and resamples to 16 kHz mono ten minutes of MP3,
// made by repeating a fixture's audio frames: 48 kHz stereo coded M/S (as LAME codes
// nearly all frames of speech) or L/R, and 24 kHz mono. audio-s/s is seconds of audio
// per second of wall time.
func BenchmarkDecodeMP3Long(b *testing.B) {
	for _, in := range []struct{ name, file string }{
		{"48k-stereo-ms", "testdata/noisy-48k-ms.mp3"},
		{"48k-stereo-lr", "testdata/noisy-48k-lr.mp3"},
		{"24k-mono", "testdata/noisy-24k-mono.mp3"},
	} {
		data := repeatFrames(readFile(b, in.file), 600)
		b.Run(in.name, func(b *testing.B) {
			var secs float64
			for b.Loop() {
				a, err := Decode(data, DecodeOptions{MaxSeconds: 700})
				if err != nil {
					b.Fatal(err)
				}
				secs += a.Info.Seconds
			}
			b.ReportMetric(secs/b.Elapsed().Seconds(), "audio-s/s")
		})
	}
}

// BenchmarkDecodeMP3LongGoMP3 is BenchmarkDecodeMP3Long's inputs on the reference
// path: go-mp3 (the decoder asr used before its own), downmix and resample.
func BenchmarkDecodeMP3LongGoMP3(b *testing.B) {
	for _, in := range []struct{ name, file string }{
		{"48k-stereo-ms", "testdata/noisy-48k-ms.mp3"},
		{"24k-mono", "testdata/noisy-24k-mono.mp3"},
	} {
		data := repeatFrames(readFile(b, in.file), 600)
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				mp3Reference(b, data)
			}
		})
	}
}

// withoutXing is data (an MP3 file with an ID3 tag and a Xing frame) without the
// tag and the Xing frame.
func withoutXing(data []byte) []byte {
	if bytes.HasPrefix(data, []byte("ID3")) {
		data = data[10+(int(data[6])<<21|int(data[7])<<14|int(data[8])<<7|int(data[9])):]
	}
	return data[mp3FrameEnds(data)[0]:]
}

// repeatFrames is the audio frames of data (an MP3 file with an ID3 tag and a Xing
// header, both dropped) repeated to secs seconds. Each repetition starts with a frame
// whose main data begins in it, so no frame reads another repetition's reservoir.
func repeatFrames(data []byte, secs float64) []byte {
	if bytes.HasPrefix(data, []byte("ID3")) {
		data = data[10+(int(data[6])<<21|int(data[7])<<14|int(data[8])<<7|int(data[9])):]
	}
	first, _ := parseMP3Header(data)
	ends := mp3FrameEnds(data)
	frames := data[ends[0]:ends[len(ends)-1]] // without the Xing frame
	n := int(secs * float64(first.rate) / float64(first.samples()) / float64(len(ends)-1))
	return bytes.Repeat(frames, n)
}

// TestMP3IntensityRatios checks the intensity stereo gains (no file LAME writes uses
// intensity stereo, and go-mp3's is not the standard's): MPEG-1's split the value
// between L and R (they sum to 1, so the downmix is the value halved), MPEG-2's scale
// one channel by a power of 2.
func TestMP3IntensityRatios(t *testing.T) {
	tests := []struct {
		pos, version, scale int
		kl, kr              float64
	}{
		{0, 1, 0, 0, 1},
		{3, 1, 0, 0.5, 0.5},
		{6, 1, 0, 1, 0},
		{2, 1, 0, 0.36602540, 0.63397460}, // tan(π/6) = 0.57735
		{0, 2, 0, 1, 1},
		{1, 2, 0, 0.84089642, 1}, // 2^-(1/4)
		{2, 2, 0, 1, 0.84089642},
		{3, 2, 1, 0.5, 1}, // 2^-(2/2)
		{4, 2, 1, 1, 0.5},
	}
	for _, tt := range tests {
		kl, kr := isRatios(tt.pos, tt.version, tt.scale)
		if math.Abs(float64(kl)-tt.kl) > 1e-6 || math.Abs(float64(kr)-tt.kr) > 1e-6 {
			t.Errorf("isRatios(%d, MPEG-%d, scale %d) = %.6f, %.6f, want %.6f, %.6f", tt.pos, tt.version, tt.scale, kl, kr, tt.kl, tt.kr)
		}
	}
}
