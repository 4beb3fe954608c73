package transforms

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"dlmstream/connectors/kafka"
	"dlmstream/engine"
)

// With a vision checkpoint, Run captions the pixels (PNG, JPEG, WebP).
func TestRunCaptionVisionCheckpoint(t *testing.T) {
	model := filepath.Join("..", "testdata", "models", "demo-vision")
	eng, err := engine.Shared(model, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Model: model, DeadLetterTopic: "dlq"}
	dir := filepath.Join("..", "testdata", "demo", "vision")
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var it struct {
			Image, Caption string
			ContentType    string `json:"content_type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatal(err)
		}
		t.Run(it.Image, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, it.Image))
			if err != nil {
				t.Fatal(err)
			}
			e := kafka.Envelope{Value: b}.WithHeader(kafka.HeaderContentType, it.ContentType)
			task, err := Prepare(cfg, KindCaption, e)
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
			if o.Text != it.Caption || o.Forwards == 0 || !o.Final || o.Image == nil {
				t.Errorf("caption %q (%d forwards, final %v), want %q", o.Text, o.Forwards, o.Final, it.Caption)
			}
		})
	}
}
