package asr

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/engine/decode"
)

// pinkNoise is n samples of 1/f noise at about rms (Paul Kellet's filter on
// seeded white noise).
func pinkNoise(n int, rms float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	var b0, b1, b2, b3, b4, b5, b6 float64
	out := make([]float32, n)
	var ss float64
	for i := range out {
		w := r.NormFloat64()
		b0 = 0.99886*b0 + w*0.0555179
		b1 = 0.99332*b1 + w*0.0750759
		b2 = 0.96900*b2 + w*0.1538520
		b3 = 0.86650*b3 + w*0.3104856
		b4 = 0.55000*b4 + w*0.5329522
		b5 = -0.7616*b5 - w*0.0168980
		v := b0 + b1 + b2 + b3 + b4 + b5 + b6 + w*0.5362
		b6 = w * 0.115926
		out[i] = float32(v)
		ss += v * v
	}
	g := rms / math.Sqrt(ss/float64(n))
	for i := range out {
		out[i] *= float32(g)
	}
	return out
}

// Silence and stationary noise never reach the language model, so they
// never come back as hallucinated text; every held-out clip passes the gate.
func TestVoiceActivityGate(t *testing.T) {
	eng := demoEngine(t)
	tests := []struct {
		name    string
		samples []float32
	}{
		{"10 s of silence", make([]float32, 10*SampleRate)},
		{"10 s of pink noise", pinkNoise(10*SampleRate, 0.05, 1)},
		{"10 s of loud pink noise", pinkNoise(10*SampleRate, 0.3, 2)},
		{"10 s of 50 Hz hum", func() []float32 {
			x := make([]float32, 10*SampleRate)
			for i := range x {
				x[i] = float32(0.2 * math.Sin(2*math.Pi*50*float64(i)/SampleRate))
			}
			return x
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Transcribe(context.Background(), eng, tt.samples, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tr.Text != "" || tr.Forwards != 0 || tr.Windows != 0 {
				t.Errorf("got %q from %d windows in %d forwards, want nothing", tr.Text, tr.Windows, tr.Forwards)
			}
		})
	}
	dir, clips := heldoutManifest(t)
	for _, c := range clips {
		if x := loadClip(t, filepath.Join(dir, c.Audio)); !HasSpeech(x, SampleRate) {
			t.Errorf("%s (%q): the gate finds no speech", c.Audio, c.Text)
		}
	}
}

// Audio longer than the checkpoint's 3.2 s window is cut into one window
// per utterance, transcribed and stitched; segment times cover the input.
// The stitched WER is logged, not asserted: demo-speech was trained on clips
// trimmed to exactly 50 ms before the speech onset, and a window that starts
// 20-50 ms off already breaks its first word (the CTC draft stays right).
func TestLongAudio(t *testing.T) {
	eng := demoEngine(t)
	dir, clips := heldoutManifest(t)
	var audio []float32
	var want []string
	type span struct{ start, end float64 }
	var utts []span
	for i, c := range clips[:8] {
		x := loadClip(t, filepath.Join(dir, c.Audio))
		utts = append(utts, span{float64(len(audio)) / SampleRate, float64(len(audio)+len(x)) / SampleRate})
		audio = append(audio, x...)
		audio = append(audio, pinkNoise(SampleRate/2, 0.005, uint64(i))...) // a pause in room noise
		want = append(want, c.Text)
	}
	tr, err := Transcribe(context.Background(), eng, audio, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var c Corpus
	c.Add(strings.Join(want, " "), tr.Text)
	t.Logf("%.1f s in %d windows, %d forwards: WER %.1f%%\n got %q\nwant %q", float64(len(audio))/SampleRate, len(tr.Segments), tr.Forwards, 100*c.WER(), tr.Text, strings.Join(want, " "))
	var speech []Segment
	end := 0.0
	for i, s := range tr.Segments {
		if math.Abs(s.Start-end) > 1e-9 || s.End <= s.Start || s.End-s.Start > 3.2+1e-9 {
			t.Errorf("segment %d [%.3f, %.3f] does not follow %.3f", i, s.Start, s.End, end)
		}
		end = s.End
		if s.Speech {
			speech = append(speech, s)
		}
	}
	if math.Abs(end-float64(len(audio))/SampleRate) > 1e-6 {
		t.Errorf("segments end at %.3f s, audio at %.3f s", end, float64(len(audio))/SampleRate)
	}
	if len(speech) != len(utts) {
		t.Fatalf("%d speech windows for %d utterances", len(speech), len(utts))
	}
	for i, s := range speech {
		if s.Start > utts[i].start+0.06 || s.End < utts[i].end-0.06 || s.Start < utts[i].start-0.12 {
			t.Errorf("window [%.3f, %.3f] misses utterance %d [%.3f, %.3f]", s.Start, s.End, i, utts[i].start, utts[i].end)
		}
	}
	if speech[0].Text != want[0] || speech[1].Text != want[1] {
		t.Errorf("first windows %q, %q; want %q, %q", speech[0].Text, speech[1].Text, want[0], want[1])
	}
}

// endless is a Source of n samples of pink noise made on the fly.
type endless struct{ left, seed int }

func (e *endless) Read(dst []float32) (int, error) {
	if e.left == 0 {
		return 0, io.EOF
	}
	n := min(len(dst), e.left)
	e.seed++
	copy(dst, pinkNoise(n, 0.05, uint64(e.seed)))
	e.left -= n
	return n, nil
}

// A 10-minute stream is read window by window (the samples never sit in
// memory whole); noise-only windows cost no forwards.
func TestTenMinuteSource(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("10 minutes of audio (a memory bound, not a concurrency check: skipped under -race)")
	}
	r, err := For(demoEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	src := &endless{left: 600 * SampleRate}
	w := newWindower(src, r.Mel.Config().NSamples, 0)
	windows, peak := 0, 0
	for {
		raw, err := w.next()
		if err != nil {
			t.Fatal(err)
		}
		if raw == nil {
			break
		}
		windows++
		peak = max(peak, cap(w.buf))
	}
	if limit := 2 * r.Mel.Config().NSamples; peak > limit {
		t.Errorf("windower buffer grew to %d samples, want <= %d", peak, limit)
	}
	tr, err := r.TranscribeSource(context.Background(), &endless{left: 600 * SampleRate}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != "" || len(tr.Segments) != windows {
		t.Errorf("%q in %d segments, want nothing in %d", tr.Text, len(tr.Segments), windows)
	}
}

// Bad audio gives a clear error from Decode or a transcript from
// Transcribe, never a panic.
func TestBadAudioEndToEnd(t *testing.T) {
	eng := demoEngine(t)
	speech := loadClip(t, filepath.Join("..", "testdata", "heldout", "speech", "0002.wav"))
	pcm16 := func(rate, channels, bits int, x []float32) []byte { return testWAV(rate, channels, bits, x) }
	clipped := make([]float32, len(speech))
	for i, v := range speech {
		clipped[i] = float32(math.Max(-1, math.Min(1, float64(v)*20)))
	}
	down8k, err := Resample(speech, SampleRate, 8000)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   []byte
		reason Reason // "" = decodes
		heard  bool   // the transcript is the clip's text
	}{
		{"speech", pcm16(16000, 1, 16, speech), "", true},
		{"clipped x20", pcm16(16000, 1, 16, clipped), "", false},
		{"8 kHz telephone", pcm16(8000, 1, 16, down8k), "", false},
		{"24-bit", pcm16(16000, 1, 24, speech), "", true},
		{"5 channels", pcm16(16000, 5, 16, speech), "", true},
		{"0.05 s", pcm16(16000, 1, 16, speech[:800]), "", false},
		{"silence", pcm16(16000, 1, 16, make([]float32, 16000)), "", false},
		{"truncated", pcm16(16000, 1, 16, speech)[:3000], ReasonTruncated, false},
		{"lying header", func() []byte {
			b := pcm16(16000, 1, 16, speech)
			b[40], b[41], b[42], b[43] = 0xff, 0xff, 0xff, 0x7f
			return b
		}(), ReasonTruncated, false},
		{"not audio", []byte("definitely not a sound file"), ReasonNotAudio, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Decode(tt.data, DecodeOptions{})
			if tt.reason != "" {
				var e *Error
				if !errors.As(err, &e) || e.Reason != tt.reason {
					t.Fatalf("Decode: %v, want reason %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tr, err := Transcribe(context.Background(), eng, a.Samples, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.heard && tr.Text != "paul lives in paris" {
				t.Errorf("transcript %q, want %q", tr.Text, "paul lives in paris")
			}
			t.Logf("%q (%d forwards)", tr.Text, tr.Forwards)
		})
	}
}

// testWAV writes x as a PCM WAV with every channel equal.
func testWAV(rate, channels, bits int, x []float32) []byte {
	bps := bits / 8
	data := make([]byte, 0, len(x)*channels*bps)
	for _, v := range x {
		q := int32(math.Round(float64(v) * float64(int32(1)<<(bits-1)-1)))
		for range channels {
			for b := 0; b < bps; b++ {
				data = append(data, byte(q>>(8*b)))
			}
		}
	}
	le32 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	le16 := func(v int) []byte { return []byte{byte(v), byte(v >> 8)} }
	var b []byte
	b = append(b, "RIFF"...)
	b = append(b, le32(36+len(data))...)
	b = append(b, "WAVEfmt "...)
	b = append(b, le32(16)...)
	b = append(b, le16(1)...)
	b = append(b, le16(channels)...)
	b = append(b, le32(rate)...)
	b = append(b, le32(rate*channels*bps)...)
	b = append(b, le16(channels*bps)...)
	b = append(b, le16(bits)...)
	b = append(b, "data"...)
	b = append(b, le32(len(data))...)
	return append(b, data...)
}

// The CTC prior meets the bar on the 210 held-out clips: WER <=
// 2.6% at <= 4 language-model forwards per clip (one token per step without
// a prior: 2.41% at 7.62 forwards on demo-speech). demo-speech meets it with
// one-token-per-step fallback (1.75% at 3.73); demo-speech-v2's CTC head is
// less confident, so it needs the 0.9 threshold fallback (0.99% at 2.70;
// with one token per step 0.77% at 4.26 forwards). Under -race every other
// clip (1.91% at 3.77 and 1.28% at 2.66 on those 105).
func TestCTCPriorTarget(t *testing.T) {
	for _, tt := range []struct {
		model  string
		policy decode.Policy
	}{
		{"demo-speech", decode.Threshold{Tau: 2}},
		{"demo-speech-v2", decode.Threshold{Tau: 0.9}},
	} {
		t.Run(tt.model, func(t *testing.T) {
			r, err := For(modelEngine(t, filepath.Join("..", "testdata", "models", tt.model)))
			if err != nil {
				t.Fatal(err)
			}
			dir, clips := heldoutManifest(t)
			if raceEnabled { // every other clip: the whole set takes ~4 min under -race
				var half []heldoutClip
				for i := 0; i < len(clips); i += 2 {
					half = append(half, clips[i])
				}
				clips = half
			}
			c := Corpus{Normalizer: BasicNormalizer{}}
			forwards := 0
			for _, cl := range clips {
				tr, err := r.Transcribe(context.Background(), loadClip(t, filepath.Join(dir, cl.Audio)), Options{Prior: CTCPrior{}, Policy: tt.policy})
				if err != nil {
					t.Fatal(err)
				}
				c.Add(cl.Text, tr.Text)
				forwards += tr.Forwards
			}
			fpc := float64(forwards) / float64(len(clips))
			t.Logf("CTC prior: WER %.2f%%, exact %d/%d, %.2f forwards/clip", 100*c.WER(), c.ExactMatches, len(clips), fpc)
			if c.WER() > 0.026 || fpc > 4 {
				t.Errorf("WER %.2f%% at %.2f forwards/clip, want <= 2.6%% at <= 4", 100*c.WER(), fpc)
			}
		})
	}
}
