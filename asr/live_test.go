package asr

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// liveStream is n held-out clips joined by 0.5 s pauses in room noise (the
// TestLongAudio stream), with the end of each utterance in samples.
func liveStream(t *testing.T, n int) (audio []float32, ends []int, want []string) {
	t.Helper()
	dir, clips := heldoutManifest(t)
	for i, c := range clips[:n] {
		audio = append(audio, loadClip(t, filepath.Join(dir, c.Audio))...)
		ends = append(ends, len(audio))
		audio = append(audio, pinkNoise(SampleRate/2, 0.005, uint64(i))...)
		want = append(want, c.Text)
	}
	return audio, ends, want
}

// A live stream written in chunks of any size transcribes to what
// Transcribe gives for the whole audio, and each utterance's text is out
// (its window returned by Write, its blocks streamed) before the stream
// ends: within one pause and one chunk of the utterance's end.
func TestLive(t *testing.T) {
	eng := demoEngine(t)
	rec, err := For(eng)
	if err != nil {
		t.Fatal(err)
	}
	n := 8
	if raceEnabled || testing.Short() {
		n = 4 // the package stays well inside go test's 10 minutes under -race
	}
	audio, ends, _ := liveStream(t, n)
	offline, err := rec.Transcribe(context.Background(), audio, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	cases := []struct {
		name  string
		chunk func() int
	}{
		{"200ms", func() int { return SampleRate / 5 }},
		{"20ms", func() int { return SampleRate / 50 }},
		{"random", func() int { return 1 + rng.IntN(SampleRate) }},
	}
	if raceEnabled || testing.Short() {
		cases = cases[:1]
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var streamed strings.Builder
			finals := 0
			live := rec.NewLive(Options{Stream: func(p Partial) {
				if p.Final {
					finals++
					streamed.WriteString(" ")
				}
				streamed.WriteString(p.Text)
			}})
			var heard []int // samples written when each speech window came back
			for pos := 0; pos < len(audio); {
				n := min(tc.chunk(), len(audio)-pos)
				segs, err := live.Write(context.Background(), audio[pos:pos+n])
				if err != nil {
					t.Fatal(err)
				}
				pos += n
				for _, s := range segs {
					if s.Speech {
						heard = append(heard, pos)
					}
				}
				if live.Final() > live.Received() || live.Received() != pos {
					t.Fatalf("final %d, received %d after %d samples", live.Final(), live.Received(), pos)
				}
			}
			tr, err := live.Close(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tr.Text != offline.Text {
				t.Errorf("live %q\n offline %q", tr.Text, offline.Text)
			}
			if got := strings.Join(strings.Fields(streamed.String()), " "); got != strings.Join(strings.Fields(tr.Text), " ") {
				t.Errorf("streamed blocks %q, transcript %q", got, tr.Text)
			}
			if finals != len(tr.Segments) {
				t.Errorf("%d final partials for %d windows", finals, len(tr.Segments))
			}
			// Every utterance but the last is out before the stream ends.
			if len(heard) < len(ends)-1 {
				t.Fatalf("%d utterances out before the end of %d", len(heard), len(ends))
			}
			for i, at := range heard[:len(ends)-1] {
				late := float64(at-ends[i]) / SampleRate
				if late > 0.5+1 { // the pause, then at most one chunk (1 s)
					t.Errorf("utterance %d out %.2f s after it ended", i, late)
				}
			}
			t.Logf("%d windows, %d forwards, utterances out at %v samples (ends %v): %q", len(tr.Segments), tr.Forwards, heard, ends, tr.Text)
		})
	}
}

// Silence and noise written live give no text and no forwards; a closed
// stream takes no more samples.
func TestLiveSilence(t *testing.T) {
	rec, err := For(demoEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string][]float32{
		"silence":    make([]float32, 10*SampleRate),
		"pink noise": pinkNoise(10*SampleRate, 0.05, 3),
	} {
		live := rec.NewLive(Options{})
		for pos := 0; pos < len(x); pos += SampleRate / 4 {
			if _, err := live.Write(context.Background(), x[pos:min(pos+SampleRate/4, len(x))]); err != nil {
				t.Fatal(err)
			}
		}
		tr, err := live.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tr.Text != "" || tr.Forwards != 0 {
			t.Errorf("%s: %q in %d forwards", name, tr.Text, tr.Forwards)
		}
		if live.Final() != len(x) {
			t.Errorf("%s: %d of %d samples final after Close", name, live.Final(), len(x))
		}
		if _, err := live.Write(context.Background(), x[:10]); err == nil {
			t.Errorf("%s: write after Close: no error", name)
		}
	}
}
