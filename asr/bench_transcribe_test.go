package asr

import (
	"context"
	"path/filepath"
	"testing"

	"dlmstream/engine/decode"
)

// BenchmarkEncoder is the Whisper encoder on one 3.2 s window (demo-speech).
func BenchmarkEncoder(b *testing.B) {
	r, err := For(demoEngine(b))
	if err != nil {
		b.Fatal(err)
	}
	mel := r.Mel.LogMel(loadClip(b, filepath.Join("..", "testdata", "heldout", "speech", "0002.wav")))
	for b.Loop() {
		if _, err := r.Speech.Encoder.Encode(mel); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*3.2/b.Elapsed().Seconds(), "audio-s/s")
}

// BenchmarkTranscribe is one clip end to end (front end, encoder, prior,
// language model) per prior and policy; audio-s/s is the inverse of the
// real-time factor on this machine.
func BenchmarkTranscribe(b *testing.B) {
	r, err := For(demoEngine(b))
	if err != nil {
		b.Fatal(err)
	}
	x := loadClip(b, filepath.Join("..", "testdata", "heldout", "speech", "0007.wav"))
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"ar", Options{Prior: NoPrior{}, Autoregressive: true}},
		{"none-one-per-step", Options{Prior: NoPrior{}}},
		{"none-threshold0.9", Options{Prior: NoPrior{}, Policy: decode.Threshold{Tau: 0.9}}},
		{"ctc-one-per-step", Options{Prior: CTCPrior{}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fwd := 0
			for b.Loop() {
				tr, err := r.Transcribe(context.Background(), x, bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				fwd = tr.Forwards
			}
			b.ReportMetric(float64(b.N)*float64(len(x))/SampleRate/b.Elapsed().Seconds(), "audio-s/s")
			b.ReportMetric(float64(fwd), "forwards")
		})
	}
}
