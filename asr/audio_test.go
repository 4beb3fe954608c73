package asr

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The decoding tests are tables of decodeCase, one per format (wav_test.go,
// wav_hostile_test.go, flac_test.go, mp3_test.go) and one here for what is not any of
// them, all run by runDecodeCases.

// props is what a decode that succeeds must give.
type props struct {
	rate, channels, bits int
	float                bool
	samples              int     // 16 kHz output length (±1)
	peak, rms            float64 // ±0.02; -1 = not checked
}

// decodeCase is an input and its expected outcome: decoded audio with the given
// properties, or an *Error with the given reason.
type decodeCase struct {
	name       string
	in         []byte
	opts       DecodeOptions
	want       *props // nil: an error is expected
	wantReason Reason
	wantMsg    string // substring of the error
	// streamReason is the reason expected through a reader that does not seek, when it
	// differs (without the input's size a header may be refused for another fault
	// first); "" = wantReason.
	streamReason Reason
}

// Budget for one small input (hostile inputs are all small): time, and memory
// allocated beyond the input's size.
const (
	smallInput  = 64 << 10
	timeBudget  = 2 * time.Second
	allocBudget = 64 << 20
)

// runDecodeCases decodes each case with Decode and checks the outcome. Small inputs
// are also decoded through NewReader from a reader that does not seek (the same
// samples, or an error), and held to the time and memory budget.
func runDecodeCases(t *testing.T, tests []decodeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			a, err := Decode(tt.in, tt.opts)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if len(tt.in) <= smallInput {
				alloc := after.TotalAlloc - before.TotalAlloc
				if took > timeBudget || alloc > uint64(allocBudget+len(tt.in)) {
					t.Errorf("Decode of %d bytes took %v and allocated %s bytes, budget %v and %s", len(tt.in), took,
						commas(int64(alloc)), timeBudget, commas(int64(allocBudget+len(tt.in))))
				}
				checkStream(t, tt, a, err)
			}
			if tt.want == nil {
				wantError(t, "Decode", err, len(a.Samples), tt.wantReason, tt.wantMsg)
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkProps(t, a, *tt.want)
		})
	}
}

// wantError fails unless err is an *Error with reason and msg in its text.
func wantError(t *testing.T, what string, err error, samples int, reason Reason, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s = %v (%d samples), want an *Error with reason %s", what, err, samples, reason)
	}
	if e.Reason != reason || !strings.Contains(e.Error(), msg) {
		t.Fatalf("%s error = %s: %q, want %s: %q", what, e.Reason, e.Error(), reason, msg)
	}
}

// checkStream decodes tt.in through NewReader from a reader that is not an io.Seeker
// and wants Decode's outcome, a and err.
func checkStream(t *testing.T, tt decodeCase, a Audio, err error) {
	t.Helper()
	got, serr := readAll(struct{ io.Reader }{bytes.NewReader(tt.in)}, tt.opts)
	if err != nil {
		reason := tt.streamReason
		if reason == "" {
			reason = ReasonOf(err)
		}
		wantError(t, "streaming", serr, len(got), reason, "")
		return
	}
	if serr != nil || !slices.Equal(got, a.Samples) {
		t.Fatalf("streaming gave %d samples, %v; Decode %d samples", len(got), serr, len(a.Samples))
	}
}

// readAll reads every sample from NewReader(r).
func readAll(r io.Reader, opts DecodeOptions) ([]float32, error) {
	rd, err := NewReader(r, opts)
	if err != nil {
		return nil, err
	}
	var out []float32
	buf := make([]float32, 4096)
	for {
		n, err := rd.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// checkProps fails unless a has the properties w.
func checkProps(t *testing.T, a Audio, w props) {
	t.Helper()
	i := a.Info
	if i.SourceRate != w.rate || i.Channels != w.channels || i.BitDepth != w.bits || i.Float != w.float {
		t.Fatalf("info = %+v, want %+v", i, w)
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

// id3 is an ID3v2.4 tag with size bytes of padding.
func id3(size int) []byte {
	h := []byte{'I', 'D', '3', 4, 0, 0, byte(size >> 21 & 0x7F), byte(size >> 14 & 0x7F), byte(size >> 7 & 0x7F), byte(size & 0x7F)}
	return append(h, make([]byte, size)...)
}

// TestDecode is the table of inputs that are no supported format, or are not audio at
// all, and of tags around them.
func TestDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	runDecodeCases(t, []decodeCase{
		{name: "ID3 tag cut short", in: id3(300)[:200], wantReason: ReasonTruncated, wantMsg: "ID3 tag declares 310 bytes, file holds 200"},
		{name: "ID3 tag before text", in: append(id3(10), "hello there"...), wantReason: ReasonNotAudio},
		{name: "UTF-16 text (starts like an MPEG header)", in: []byte("\xff\xfeH\x00e\x00l\x00l\x00o\x00 \x00w\x00o\x00r\x00l\x00d\x00"), wantReason: ReasonNotAudio},
		{name: "Ogg", in: []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"), wantReason: ReasonUnsupported},
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
		{name: "ID3 tag declaring 256 MiB before an MPEG frame", in: append(id3(0)[:6:6], 0x7F, 0x7F, 0x7F, 0x7F, 0xFF, 0xFB, 0x90, 0x64),
			wantReason: ReasonTruncated, wantMsg: "ID3 tag declares 268,435,465 bytes, file holds 14 (tag at byte 0)"},
		{name: "RF64 WAV", in: []byte("RF64\xff\xff\xff\xffWAVEds64"), wantReason: ReasonUnsupported, wantMsg: "RF64 WAV"},
	})
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
		// MPEG-2.5, which LAME writes without a Xing header: the same 1,105-sample lag, at 8 and 11.025 kHz.
		{"testdata/speech-8k.mp3", "mp3", 8000, 1, 0, "0004.wav", 2210, 0.95},
		{"testdata/speech-11k.mp3", "mp3", 11025, 1, 0, "0004.wav", 1604, 0.95},
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
