package asr

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// tone returns n samples of a sine at freq Hz sampled at rate Hz, amplitude amp. [n]
func tone(freq float64, rate, n int, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// steadyRMS is the RMS of x without its first and last tenth (away from the edges).
func steadyRMS(x []float32) float64 {
	x = x[len(x)/10 : len(x)-len(x)/10]
	var sq float64
	for _, v := range x {
		sq += float64(v) * float64(v)
	}
	return math.Sqrt(sq / float64(len(x)))
}

// TestResampleResponse measures the gain of tones through the resampler, in dB: the
// passband keeps amplitude within 0.1 dB, the stopband (what would alias) loses ≥ 60 dB.
func TestResampleResponse(t *testing.T) {
	tests := []struct {
		name         string
		from, to     int
		freq         float64 // Hz
		minDB, maxDB float64 // gain bounds
	}{
		{"44.1k->16k 7 kHz passband", 44100, 16000, 7000, -0.1, 0.1},
		{"44.1k->16k 1 kHz passband", 44100, 16000, 1000, -0.1, 0.1},
		{"44.1k->16k 10 kHz stopband", 44100, 16000, 10000, math.Inf(-1), -60},
		{"44.1k->16k 8.5 kHz stopband", 44100, 16000, 8500, math.Inf(-1), -60},
		{"48k->16k 7 kHz passband", 48000, 16000, 7000, -0.1, 0.1},
		{"48k->16k 12 kHz stopband", 48000, 16000, 12000, math.Inf(-1), -60},
		{"48k->16k 20 kHz stopband", 48000, 16000, 20000, math.Inf(-1), -60},
		{"8k->16k 3 kHz passband", 8000, 16000, 3000, -0.1, 0.1},
		{"8k->16k 300 Hz passband", 8000, 16000, 300, -0.1, 0.1},
		{"22.05k->16k 5 kHz passband", 22050, 16000, 5000, -0.1, 0.1},
		{"11.025k->16k 4.5 kHz passband", 11025, 16000, 4500, -0.1, 0.1},
		{"384k->16k 7 kHz passband", 384000, 16000, 7000, -0.1, 0.1},
		{"384k->16k 100 kHz stopband", 384000, 16000, 100000, math.Inf(-1), -60},
		{"16k->16k 7.9 kHz identity", 16000, 16000, 7900, -1e-6, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tone(tt.freq, tt.from, tt.from/2, 0.5) // 0.5 s
			y, err := Resample(x, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			db := 20 * math.Log10(steadyRMS(y)/(0.5/math.Sqrt2))
			t.Logf("gain %.4f dB", db)
			if db < tt.minDB || db > tt.maxDB {
				t.Fatalf("gain at %.0f Hz = %.4f dB, want %.2f .. %.2f", tt.freq, db, tt.minDB, tt.maxDB)
			}
		})
	}
}

func TestResampleIdentity(t *testing.T) {
	x := tone(440, 16000, 1000, 0.5)
	y, err := Resample(x, 16000, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, y) {
		t.Fatal("16 kHz -> 16 kHz changed the samples")
	}
}

// TestResamplerStreaming feeds the input in random chunks (including empty ones) and
// wants exactly the one-shot output, with the state bounded by the kernel's width.
func TestResamplerStreaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rates := range [][2]int{{44100, 16000}, {48000, 16000}, {8000, 16000}, {22050, 16000}, {44101, 16000}, {16000, 16000}} {
		from, to := rates[0], rates[1]
		t.Run(fmtRates(from, to), func(t *testing.T) {
			x := make([]float32, from/3+7)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 0.3)
			}
			want, err := Resample(x, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if n := (int64(len(x))*int64(to) + int64(from) - 1) / int64(from); int64(len(want)) != n {
				t.Fatalf("%d outputs for %d inputs, want %d", len(want), len(x), n)
			}
			r, _ := NewResampler(from, to)
			var got []float32
			maxBuf := 0
			for rest := x; len(rest) > 0; {
				n := min(len(rest), rng.IntN(700))
				got = r.Process(got, rest[:n])
				rest = rest[n:]
				maxBuf = max(maxBuf, r.bufferedBytes())
			}
			got = r.Flush(got)
			if !slices.Equal(got, want) {
				t.Fatalf("chunked output differs from one-shot (%d vs %d samples)", len(got), len(want))
			}
			if limit := 4*len(r.phases) + 4*4*(2*int(r.reach)+700); maxBuf > limit { // table + ≤ 4× the window and a chunk
				t.Fatalf("resampler held %d bytes, want <= %d", maxBuf, limit)
			}
		})
	}
}

func TestNewResamplerRejectsBadRates(t *testing.T) {
	for _, rates := range [][2]int{{0, 16000}, {16000, 0}, {-1, 16000}, {2e7, 16000}, {16_001_000, 16000}, {16000, 15}} {
		if _, err := NewResampler(rates[0], rates[1]); err == nil {
			t.Errorf("NewResampler(%d, %d) accepted", rates[0], rates[1])
		}
	}
}

func fmtRates(from, to int) string {
	return itoa(from) + "->" + itoa(to)
}

func itoa(n int) string { return commas(int64(n)) }
