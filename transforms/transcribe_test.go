package transforms

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"dlmstream/connectors/kafka"
	"dlmstream/engine"
)

// With a speech checkpoint, Run transcribes the audio itself (no draft
// needed; a draft header becomes the prior) in every supported container.
func TestRunTranscribeSpeechCheckpoint(t *testing.T) {
	model := filepath.Join("..", "testdata", "models", "demo-speech")
	eng, err := engine.Shared(model, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Model: model, DeadLetterTopic: "dlq"}
	clips := filepath.Join("..", "testdata", "demo", "speech")
	tests := []struct {
		file, ct, draft string
		want, prior     string
	}{
		{"0007.wav", "audio/wav", "", "nine hundred and fifty nine", "ctc"},
		{"stereo-44k.flac", "audio/flac", "", "turn on the hallway oven", "ctc"},
		{"clip.mp3", "audio/mpeg", "", "paul lives in paris", "ctc"},
		{"0012.wav", "audio/wav", "emma sells the grey book", "emma sells the green book", "draft"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(clips, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			e := kafka.Envelope{Value: b}.WithHeader(kafka.HeaderContentType, tt.ct).WithHeader(kafka.HeaderRequestID, tt.file)
			if tt.draft != "" {
				e = e.WithHeader(kafka.HeaderDraftTranscript, tt.draft)
			}
			task, err := Prepare(cfg, KindTranscribe, e)
			if err != nil {
				t.Fatal(err)
			}
			v, _, err := Run(context.Background(), eng, cfg, task)
			if err != nil {
				t.Fatal(err)
			}
			var o Output
			if err := json.Unmarshal(v, &o); err != nil {
				t.Fatal(err)
			}
			if o.Text != tt.want || o.Prior != tt.prior || o.Forwards == 0 || len(o.Segments) != 1 || o.Draft != tt.draft {
				t.Errorf("got text %q prior %q draft %q, %d forwards, %d segments; want %q prior %q", o.Text, o.Prior, o.Draft, o.Forwards, len(o.Segments), tt.want, tt.prior)
			}
		})
	}
}
