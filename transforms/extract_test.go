package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/connectors/kafka"
	"dlmstream/engine"
)

// Extraction on a real engine fills the schema's scaffold: the result's
// "json" field validates against the schema whatever the (random) weights.
func TestExtractWithEngine(t *testing.T) {
	e, err := engine.Shared(filepath.Join("..", "testdata", "models", "tiny-sdar"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const doc = `{"type":"object","properties":{"title":{"type":"string","maxLength":20},"year":{"type":"integer","minimum":1900,"maximum":2100},"genre":{"enum":["sf","fantasy","crime"]}},"required":["title","year","genre"],"additionalProperties":false}`
	in := kafka.Envelope{Value: []byte("Dune by Frank Herbert, 1965, science fiction.")}.
		WithHeader(kafka.HeaderRequestID, "b1").WithHeader(kafka.HeaderSchema, doc)
	task, err := Prepare(Config{}, KindExtract, in)
	if err != nil {
		t.Fatal(err)
	}
	value, _, err := Run(context.Background(), e, Config{Model: "tiny-sdar"}, task)
	if err != nil {
		t.Fatal(err)
	}
	var out Output
	if err := json.Unmarshal(value, &out); err != nil {
		t.Fatal(err)
	}
	s, _ := compileSchema(task.Schema)
	if err := s.Validate(out.JSON); err != nil {
		t.Fatalf("extracted %s does not validate: %v", out.JSON, err)
	}
	var rec struct {
		Title string `json:"title"`
		Year  int    `json:"year"`
		Genre string `json:"genre"`
	}
	if err := json.Unmarshal(out.JSON, &rec); err != nil || rec.Year < 1900 || rec.Year > 2100 {
		t.Fatalf("record %s: %v", out.JSON, err)
	}
	if out.RequestID != "b1" || out.Forwards == 0 {
		t.Errorf("output %+v", out)
	}
}

// A schema the scaffold compiler cannot honour is a dead letter naming the
// keyword and where it is.
func TestExtractUnsupportedSchemaIsRejected(t *testing.T) {
	in := kafka.Envelope{Value: []byte("x")}.WithHeader(kafka.HeaderSchema, `{"type":"object","properties":{"a":{"not":{"pattern":"^x"}}}}`)
	_, err := Prepare(Config{}, KindExtract, in)
	var rej *Rejection
	if !errors.As(err, &rej) || rej.Reason != ReasonInvalidSchema || !strings.Contains(err.Error(), "schema: not at /properties/a/not") {
		t.Fatalf("err = %v, want an invalid-schema rejection naming not at /properties/a", err)
	}
}

// A schema whose canvas does not fit the model's positions (demo-text takes
// 512) is a canvas-too-large dead letter naming the largest part, refused
// before the engine runs.
func TestExtractCanvasTooLargeIsRejected(t *testing.T) {
	e, err := engine.Shared(filepath.Join("..", "testdata", "models", "demo-text"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const doc = `{"type":"object","properties":{"tags":{"type":"array","minItems":60,"maxItems":60,"items":{"type":"string","maxLength":20}}},"required":["tags"]}`
	in := kafka.Envelope{Value: []byte("sixty tags")}.WithHeader(kafka.HeaderSchema, doc)
	task, err := Prepare(Config{}, KindExtract, in)
	if err != nil {
		t.Fatal(err)
	}
	before := e.Stats().Forwards
	_, _, err = Run(context.Background(), e, Config{Model: "demo-text"}, task)
	var rej *Rejection
	if !errors.As(err, &rej) || rej.Reason != ReasonCanvasTooLarge || !strings.Contains(err.Error(), "/properties/tags") {
		t.Fatalf("err = %v, want a canvas-too-large rejection naming /properties/tags", err)
	}
	if n := e.Stats().Forwards - before; n != 0 {
		t.Errorf("%d forwards before the refusal", n)
	}
}
