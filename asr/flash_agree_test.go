package asr

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/engine/decode"
)

// BenchmarkFlashBlockAgreement measures FlashBlock's approximation on the
// trained speech checkpoint: every held-out clip transcribed (no prior,
// threshold 0.9) with and without FlashBlock, reporting the share of
// identical transcripts, the WER of each against the references, and the
// forwards of each. Run with:
//
//	go test ./asr -run '^$' -bench FlashBlockAgreement -benchtime 1x
func BenchmarkFlashBlockAgreement(b *testing.B) {
	r, err := For(modelEngine(b, filepath.Join("..", "testdata", "models", "demo-speech-v2")))
	if err != nil {
		b.Fatal(err)
	}
	dir, clips := heldoutSet(b, "speech")
	for b.Loop() {
		same, fe, ff := 0, 0, 0
		exact, flash := Corpus{Normalizer: BasicNormalizer{}}, Corpus{Normalizer: BasicNormalizer{}}
		for _, c := range clips {
			audio := loadClip(b, filepath.Join(dir, c.Audio))
			opts := Options{Prior: NoPrior{}, Policy: decode.Threshold{Tau: 0.9}, MaxNewTokens: 48, NoVAD: true}
			want, err := r.Transcribe(context.Background(), audio, opts)
			if err != nil {
				b.Fatal(err)
			}
			opts.FlashBlock = true
			got, err := r.Transcribe(context.Background(), audio, opts)
			if err != nil {
				b.Fatal(err)
			}
			if got.Text == want.Text {
				same++
			}
			exact.Add(c.Text, want.Text)
			flash.Add(c.Text, got.Text)
			fe += want.Forwards
			ff += got.Forwards
		}
		b.ReportMetric(100*float64(same)/float64(len(clips)), "%identical")
		b.ReportMetric(100*exact.WER(), "%WER-exact")
		b.ReportMetric(100*flash.WER(), "%WER-flash")
		b.ReportMetric(float64(fe), "forwards-exact")
		b.ReportMetric(float64(ff), "forwards-flash")
		b.ReportMetric(float64(len(clips)), "items")
	}
}

// Options.FlashBlock reaches the engine: a held-out clip transcribes with
// it, and the autoregressive baseline (block size 1) refuses it.
func TestFlashBlockOption(t *testing.T) {
	r, err := For(modelEngine(t, filepath.Join("..", "testdata", "models", "demo-speech-v2")))
	if err != nil {
		t.Fatal(err)
	}
	dir, clips := heldoutSet(t, "speech")
	audio := loadClip(t, filepath.Join(dir, clips[0].Audio))
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"flashblock", Options{Prior: NoPrior{}, Policy: decode.Threshold{Tau: 0.9}, NoVAD: true, FlashBlock: true}, false},
		{"flashblock autoregressive", Options{Prior: NoPrior{}, NoVAD: true, FlashBlock: true, Autoregressive: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := r.Transcribe(context.Background(), audio, tc.opts)
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "FlashBlock")):
				t.Fatalf("got %q, error %v; want a FlashBlock refusal", tr.Text, err)
			case !tc.wantErr && (err != nil || tr.Text == ""):
				t.Fatalf("got %q, error %v", tr.Text, err)
			}
		})
	}
}
