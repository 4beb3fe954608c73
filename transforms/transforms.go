package transforms

import (
	"context"
	"errors"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, kafka.Envelope, func(Task), error](&prepareFn{})
	register.DoFn4x1[context.Context, Task, func(kafka.Envelope), func(kafka.Envelope), error](&generateFn{})
	register.Emitter1[Task]()
	register.Emitter1[kafka.Envelope]()
}

// metricsNS is the Beam metrics namespace of every dlmstream counter.
const metricsNS = "dlmstream"

// Transcribe decodes audio inputs and runs prior-guided ASR denoising on their draft
// transcripts. col is a PCollection<kafka.Envelope>; ok holds results, failed dead letters.
func Transcribe(s beam.Scope, cfg Config, col beam.PCollection) (ok, failed beam.PCollection) {
	s = s.Scope("transforms.Transcribe")
	return apply(s, cfg, KindTranscribe, col)
}

// Caption decodes image inputs and asks the engine for a caption.
func Caption(s beam.Scope, cfg Config, col beam.PCollection) (ok, failed beam.PCollection) {
	s = s.Scope("transforms.Caption")
	return apply(s, cfg, KindCaption, col)
}

// Extract validates text inputs and their JSON Schemas and asks the engine for JSON.
func Extract(s beam.Scope, cfg Config, col beam.PCollection) (ok, failed beam.PCollection) {
	s = s.Scope("transforms.Extract")
	return apply(s, cfg, KindExtract, col)
}

func apply(s beam.Scope, cfg Config, kind string, col beam.PCollection) (ok, failed beam.PCollection) {
	if err := cfg.Validate(); err != nil {
		panic(err) // pipeline construction time
	}
	// Rejected inputs travel inside their Task to generateFn, which turns them into dead
	// letters: both outputs then come from one DoFn, with no Flatten, so the runner fuses
	// source, transforms and sinks into one stage and results are written as they are
	// made (prism materializes a Flatten's inputs at bundle ends).
	tasks := beam.ParDo(s, &prepareFn{Cfg: cfg, Kind: kind}, col)
	return beam.ParDo2(s, &generateFn{Cfg: cfg}, tasks)
}

// prepareFn decodes inputs; a failure is recorded in the task as its rejection.
type prepareFn struct {
	Cfg  Config `json:"cfg"`
	Kind string `json:"kind"`
}

func (fn *prepareFn) ProcessElement(ctx context.Context, e kafka.Envelope, emit func(Task)) error {
	beam.NewCounter(metricsNS, StageDecode+".in").Inc(ctx, 1)
	t, err := Prepare(fn.Cfg, fn.Kind, e)
	if err != nil {
		r := AsRejection(err, StageDecode)
		beam.NewCounter(metricsNS, r.Stage+".dlq."+r.Reason).Inc(ctx, 1)
		t = Task{In: e, Kind: fn.Kind, RejectStage: r.Stage, RejectReason: r.Reason, RejectError: r.Err.Error()}
	} else {
		beam.NewCounter(metricsNS, StageDecode+".out").Inc(ctx, 1)
	}
	emit(t)
	return nil
}

// generateFn calls the process-wide engine, loaded in Setup.
type generateFn struct {
	Cfg Config `json:"cfg"`

	gen Generator
}

func (fn *generateFn) Setup() error {
	g, err := openGenerator(fn.Cfg)
	fn.gen = g
	return err
}

func (fn *generateFn) ProcessElement(ctx context.Context, t Task, ok, failed func(kafka.Envelope)) error {
	if t.RejectReason != "" {
		failed(t.In.DeadLetter(fn.Cfg.DeadLetterTopic, t.RejectStage, t.RejectReason, errors.New(t.RejectError)))
		return nil
	}
	beam.NewCounter(metricsNS, StageEngine+".in").Inc(ctx, 1)
	value, took, err := Run(ctx, fn.gen, fn.Cfg, t)
	if err != nil {
		if ctx.Err() != nil {
			return err // the bundle is being cancelled: let the runner retry it
		}
		beam.NewCounter(metricsNS, StageEngine+".dlq."+ReasonEngineError).Inc(ctx, 1)
		failed(t.In.DeadLetter(fn.Cfg.DeadLetterTopic, StageEngine, ReasonEngineError, err))
		return nil
	}
	beam.NewDistribution(metricsNS, "engine.latency_ms").Update(ctx, took.Milliseconds())
	beam.NewCounter(metricsNS, StageEngine+".out").Inc(ctx, 1)
	r := t.In.Result(fn.Cfg.OutputTopic, value).WithHeader(kafka.HeaderContentType, "application/json")
	r = r.WithHeader("engine-ms", took.String())
	ok(r)
	return nil
}
