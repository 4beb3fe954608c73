package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"dlmstream"
	"dlmstream/asr"
	"dlmstream/connectors/kafka"
	"dlmstream/engine"
	"dlmstream/engine/tokenizer"
	"dlmstream/vision"
)

// Generator is what the transforms need from the engine; *engine.Engine implements it.
type Generator interface {
	Generate(ctx context.Context, req engine.Request) (engine.Result, error)
}

var generators sync.Map // name -> Generator

// RegisterGenerator makes Config.Model == name resolve to g in this process instead of
// loading a checkpoint directory: for programs that own their engine, and for tests.
func RegisterGenerator(name string, g Generator) { generators.Store(name, g) }

// openGenerator returns the process-wide engine for cfg.Model.
func openGenerator(cfg Config) (Generator, error) {
	if g, ok := generators.Load(cfg.Model); ok {
		return g.(Generator), nil
	}
	dir := cfg.Model
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		// A checkpoint bundled in the binary, named by its bundled name
		// (the demo defaults): written to the user's cache on first use.
		if _, ok := dlmstream.Lookup(dir); ok && !filepath.IsAbs(dir) {
			if dir, err = dlmstream.Materialize(dir); err != nil {
				return nil, err
			}
		}
	}
	return engine.Shared(dir, engine.Options{WeightType: cfg.WeightType, MaxQueue: cfg.MaxQueue, Backend: cfg.Backend})
}

// Request returns the engine request for t.
func (t Task) Request(maxNewTokens int) engine.Request {
	return engine.Request{
		ID: t.In.Header(kafka.HeaderRequestID),
		Messages: []tokenizer.Message{
			{Role: "system", Content: t.System},
			{Role: "user", Content: t.User},
		},
		MaxNewTokens: maxNewTokens,
	}
}

// Output is the JSON value of a result record.
type Output struct {
	RequestID string  `json:"request_id"`
	Task      string  `json:"task"`
	Text      string  `json:"text"`
	Tokens    int     `json:"tokens"`
	Forwards  int     `json:"forwards"`
	EngineMS  float64 `json:"engine_ms"`
	Model     string  `json:"model"`
	// Prior names what guided a transcription (ctc, draft, none, self; or
	// "text" when a text checkpoint corrected a draft); Draft is the draft.
	Prior string `json:"prior,omitempty"`
	Draft string `json:"draft,omitempty"`
	// Segments are a transcription's windows with times in seconds.
	Segments []Segment  `json:"segments,omitempty"`
	Audio    *AudioInfo `json:"audio,omitempty"`
	Image    *ImageInfo `json:"image,omitempty"`
	// StreamID names the live stream a transcript belongs to; Chunks is how
	// many chunks its final record covers, Ended why the stream ended
	// (end-of-stream, idle, evicted).
	StreamID string `json:"stream_id,omitempty"`
	Chunks   int    `json:"chunks,omitempty"`
	Ended    string `json:"ended,omitempty"`
	// JSON is the extracted record (schema-valid) for extraction tasks.
	JSON json.RawMessage `json:"json,omitempty"`
	// Transcript or Caption is the text an audio or image extraction input
	// was turned into before extraction, by SourceModel (multimodal.go).
	Transcript  string `json:"transcript,omitempty"`
	Caption     string `json:"caption,omitempty"`
	SourceModel string `json:"source_model,omitempty"`
	// Final is false on the partial records of a caption or transcript as it
	// forms (Config.Partials); true on every complete record.
	Final bool `json:"final"`
}

// busyBackoff is how long a request waits before it is offered again to a full engine queue.
const busyBackoff = 20 * time.Millisecond

// untilNotBusy calls op until it returns something other than
// engine.ErrBusy (backpressure, not failure), pausing busyBackoff between tries.
func untilNotBusy(ctx context.Context, op func() error) error {
	for {
		err := op()
		if !errors.Is(err, engine.ErrBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(busyBackoff):
		}
	}
}

// Run sends t to g, waiting while the engine's queue is full (engine.ErrBusy is
// backpressure, not failure), and returns the result record's value.
func Run(ctx context.Context, g Generator, cfg Config, t Task) ([]byte, time.Duration, error) {
	return run(ctx, g, cfg, t, nil)
}

// run is Run with partial, when set, receiving partial record values as
// caption or transcript blocks are committed.
func run(ctx context.Context, g Generator, cfg Config, t Task, partial func([]byte)) ([]byte, time.Duration, error) {
	cfg = cfg.withDefaults()
	if t.Kind == KindExtract && t.Media != MediaText {
		return runMediaExtract(ctx, g, cfg, t) // multimodal.go
	}
	e, isEngine := g.(*engine.Engine)
	if isEngine && t.Kind == KindExtract && t.Schema != "" {
		return runExtract(ctx, e, cfg, t)
	}
	if t.Kind == KindCaption && isEngine {
		if c, err := vision.For(e); err == nil {
			return runCaption(ctx, c, cfg, t, partial)
		}
	}
	if t.Kind == KindTranscribe {
		if isEngine {
			if rec, err := asr.For(e); err == nil {
				return runTranscribe(ctx, rec, cfg, t, partial)
			}
		}
		if t.Draft == "" {
			return nil, 0, reject(StageEngine, ReasonNoASREncoder,
				"model %s has no speech encoder and the input has no %s header to correct", cfg.Model, kafka.HeaderDraftTranscript)
		}
	}
	req := t.Request(cfg.MaxNewTokens)
	start := time.Now()
	var res engine.Result
	err := untilNotBusy(ctx, func() (err error) { res, err = g.Generate(ctx, req); return err })
	if err != nil {
		return nil, time.Since(start), err
	}
	out := Output{RequestID: req.ID, Task: t.Kind, Text: res.Text, Tokens: res.Tokens, Forwards: res.Forwards,
		EngineMS: float64(res.Elapsed.Microseconds()) / 1000, Model: cfg.Model, Final: true}
	if t.Kind == KindTranscribe {
		out.Prior, out.Draft = "text", t.Draft
	}
	switch t.Kind {
	case KindTranscribe:
		out.Audio = &t.Audio
	case KindCaption:
		out.Image = &t.Image
	}
	b, err := json.Marshal(out)
	return b, time.Since(start), err
}
