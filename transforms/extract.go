package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/schema"
)

// maxCachedSchemas bounds the compiled-scaffold cache; extraction streams
// usually carry a handful of distinct schemas.
const maxCachedSchemas = 256

var schemaCache = struct {
	sync.Mutex
	m map[string]*schema.Schema
}{m: map[string]*schema.Schema{}}

// compileSchema compiles a validated schema once per process (bounded cache).
func compileSchema(doc string) (*schema.Schema, error) {
	schemaCache.Lock()
	s := schemaCache.m[doc]
	schemaCache.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := schema.Compile([]byte(doc))
	if err != nil {
		return nil, err
	}
	schemaCache.Lock()
	if len(schemaCache.m) >= maxCachedSchemas {
		clear(schemaCache.m)
	}
	schemaCache.m[doc] = s
	schemaCache.Unlock()
	return s, nil
}

// runExtract fills the schema's scaffold with the engine's block-diffusion
// decoder under the slot constraints, so the output validates by
// construction (engine/schema). A full engine queue is waited out.
func runExtract(ctx context.Context, e *engine.Engine, cfg Config, t Task) ([]byte, time.Duration, error) {
	start := time.Now()
	out, err := extractOutput(ctx, e, cfg, t, start)
	if err != nil {
		return nil, time.Since(start), err
	}
	b, err := json.Marshal(out)
	return b, time.Since(start), err
}

// extractOutput extracts JSON from t.Input against t.Schema; start is when
// the task began (its EngineMS counts from there).
func extractOutput(ctx context.Context, e *engine.Engine, cfg Config, t Task, start time.Time) (Output, error) {
	s, err := compileSchema(t.Schema)
	if err != nil {
		return Output{}, err
	}
	var res *schema.Result
	err = untilNotBusy(ctx, func() (err error) {
		res, err = schema.Extract(ctx, e, t.Input, s, schema.Options{Policy: decode.Threshold{Tau: 0.9}})
		return err
	})
	if ce := (*schema.CanvasError)(nil); errors.As(err, &ce) {
		return Output{}, &Rejection{Stage: StageEngine, Reason: ReasonCanvasTooLarge, Err: err}
	}
	if err != nil {
		return Output{}, err
	}
	return Output{RequestID: t.In.Header(kafka.HeaderRequestID), Task: t.Kind, Text: string(res.JSON), JSON: res.JSON, Final: true,
		Tokens: res.Decoded, Forwards: res.Forwards, EngineMS: float64(time.Since(start).Microseconds()) / 1000, Model: cfg.Model}, nil
}
