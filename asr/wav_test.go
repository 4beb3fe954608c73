package asr

import (
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// TestDecodeWAV is the table of WAV files real writers make, cut short, or with
// headers that lie; wav_hostile_test.go has one case for each hostile class.
func TestDecodeWAV(t *testing.T) {
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
	runDecodeCases(t, []decodeCase{
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
		{name: "WAV cut mid-data", in: wav1s[:len(wav1s)/2], wantReason: ReasonTruncated, wantMsg: "16-bit data chunk declares 32,000 bytes, file holds 15,978"},
		{name: "WAV cut inside the fmt chunk", in: wav1s[:30], wantReason: ReasonTruncated},
		{name: "WAV cut before the data chunk", in: wav1s[:40], wantReason: ReasonTruncated, wantMsg: "before the data chunk"},
		{name: "RIFF header only", in: wav1s[:10], wantReason: ReasonTruncated},
		{name: "WAV data size 4 GB", in: makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: 16000, channels: 1, dataSize: 4_000_000_000}, sines(440, 16000, 60, 1, 0.5)),
			wantReason: ReasonTruncated, wantMsg: "16-bit data chunk declares 4,000,000,000 bytes, file holds 120",
			streamReason: ReasonTooLong}, // 34.7 hours, before there is a file size to hold it to

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
		{name: "WAV 65 channels", in: pcm16(16000, 65, sines(440, 16000, 100, 65, 0.5)), wantReason: ReasonUnsupported, wantMsg: "fmt chunk declares 65 channels, at most 64"},
		{name: "WAV 500 Hz", in: pcm16(500, 1, sines(100, 500, 500, 1, 0.5)), wantReason: ReasonUnsupported, wantMsg: "sample rate 500 Hz"},
		{name: "WAV 768 kHz", in: pcm16(768000, 1, sines(100, 768000, 100, 1, 0.5)), wantReason: ReasonUnsupported},
		{name: "WAV NaN float sample", in: makeWAV(wavSpec{tag: wavFloat, bits: 32, rate: 16000, channels: 1}, []float64{0, math.NaN(), 0}),
			wantReason: ReasonCorrupt, wantMsg: "frame 1 is not finite"},
		{name: "mu-law WAV", in: makeWAV(wavSpec{tag: 7, bits: 8, rate: 8000, channels: 1}, sines(440, 8000, 100, 1, 0.5)), wantReason: ReasonUnsupported, wantMsg: "mu-law"},
		{name: "12-bit float WAV", in: makeWAV(wavSpec{tag: wavFloat, bits: 16, rate: 8000, channels: 1}, sines(440, 8000, 100, 1, 0.5)), wantReason: ReasonUnsupported},
		{name: "RIFX (big-endian) WAV", in: append([]byte("RIFX"), wav1s[4:]...), wantReason: ReasonUnsupported},
		{name: "WAV with an empty data chunk", in: pcm16(16000, 1, nil), wantReason: ReasonEmpty},
	})
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
