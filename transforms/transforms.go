package transforms

import (
	"context"
	"errors"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/monitor"

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
	monitor.SetReady(engineComponent(cfg.Model), false) // until a worker's Setup has loaded it
	tasks := beam.ParDo(s, &prepareFn{Cfg: cfg, Kind: kind}, col)
	return beam.ParDo2(s, &generateFn{Cfg: cfg, Kind: kind}, tasks)
}

// prepareFn decodes inputs; a failure is recorded in the task as its rejection.
type prepareFn struct {
	Cfg  Config `json:"cfg"`
	Kind string `json:"kind"`
}

func (fn *prepareFn) ProcessElement(ctx context.Context, e kafka.Envelope, emit func(Task)) error {
	countInput(ctx, fn.Kind)
	t, err := Prepare(fn.Cfg, fn.Kind, e)
	if err != nil {
		r := AsRejection(err, StageDecode)
		countDeadLetter(ctx, fn.Kind, r.Stage, r.Reason)
		// A live chunk keeps its stream and place, so the stream goes on without it.
		t = Task{In: e, Kind: fn.Kind, Stream: t.Stream, Seq: t.Seq, RejectStage: r.Stage, RejectReason: r.Reason, RejectError: r.Err.Error()}
	} else {
		beam.NewCounter(metricsNS, StageDecode+".out").Inc(ctx, 1)
	}
	emit(t)
	return nil
}

// generateFn calls the process-wide engine, loaded in Setup. It can keep up to
// Config.MaxInFlight requests of a bundle in flight, so the engine's scheduler can batch
// them (a runner hands one DoFn instance one element at a time): each ProcessElement
// submits its task and emits the results that are ready, in input order; FinishBundle
// waits for the rest. The bundle's sink writes, and commits, only what was emitted.
type generateFn struct {
	Cfg  Config `json:"cfg"`
	Kind string `json:"kind"`

	gen     Generator
	pending []*call // submitted, in input order
}

// call is one engine request in flight.
type call struct {
	t        Task
	done     chan struct{}
	partials chan []byte // partial records, emitted while the call is at the front
	value    []byte
	extra    []kafka.Envelope // a live chunk's records (acks, final records), made whole
	took     time.Duration
	err      error
}

func (fn *generateFn) Setup() error {
	g, err := openGenerator(fn.Cfg)
	fn.gen = g
	if err != nil {
		return err
	}
	monitor.SetReady(engineComponent(fn.Cfg.Model), true)
	if fn.Kind != KindExtract {
		return nil
	}
	// The checkpoints of audio and image inputs load now too: a wrong path
	// fails the job at its start, not the first spoken input.
	for _, m := range []string{MediaAudio, MediaImage} {
		sc := sourceConfig(fn.Cfg, m)
		if sc.Model == "" {
			continue
		}
		if _, err := openGenerator(sc); err != nil {
			return err
		}
		monitor.SetReady(engineComponent(sc.Model), true)
	}
	return nil
}

func (fn *generateFn) ProcessElement(ctx context.Context, t Task, ok, failed func(kafka.Envelope)) error {
	if t.RejectReason != "" {
		failed(t.In.DeadLetter(fn.Cfg.DeadLetterTopic, t.RejectStage, t.RejectReason, errors.New(t.RejectError)))
		if t.Stream == "" || t.Seq < 0 {
			return fn.drain(ctx, fn.Cfg.maxInFlight(), ok, failed)
		}
		// A live stream's bad chunk: the stream goes on without it.
	}
	if t.RejectReason == "" {
		beam.NewCounter(metricsNS, StageEngine+".in").Inc(ctx, 1)
	}
	c := &call{t: t, done: make(chan struct{})}
	var partial func([]byte)
	if fn.Cfg.Partials {
		c.partials = make(chan []byte, 16)
		partial = func(v []byte) {
			select {
			case c.partials <- v:
			case <-ctx.Done():
			}
		}
	}
	go func() {
		defer close(c.done)
		if t.Stream != "" {
			start := time.Now()
			c.extra, c.err = runLive(ctx, fn.gen, fn.Cfg, t, partial)
			c.took = time.Since(start)
			return
		}
		c.value, c.took, c.err = run(ctx, fn.gen, fn.Cfg, t, partial)
	}()
	fn.pending = append(fn.pending, c)
	return fn.drain(ctx, fn.Cfg.maxInFlight()-1, ok, failed)
}

func (fn *generateFn) FinishBundle(ctx context.Context, ok, failed func(kafka.Envelope)) error {
	if err := fn.drain(ctx, 0, ok, failed); err != nil {
		return err
	}
	fn.emitAll(ctx, endIdle(ctx, fn.Cfg), ok, failed)
	return nil
}

// emitAll emits records made whole: dead letters to failed, results and
// acknowledgements to ok.
func (fn *generateFn) emitAll(ctx context.Context, recs []kafka.Envelope, ok, failed func(kafka.Envelope)) {
	for _, r := range recs {
		switch {
		case r.CommitOnly:
			ok(r)
		case r.Header(kafka.HeaderErrorStage) != "":
			countDeadLetter(ctx, fn.Kind, StageEngine, r.Header(kafka.HeaderErrorReason))
			failed(r)
		default:
			countResult(ctx, fn.Kind)
			ok(r)
		}
	}
}

// drain emits finished calls from the front of the queue, waiting while more than keep
// are in flight.
func (fn *generateFn) drain(ctx context.Context, keep int, ok, failed func(kafka.Envelope)) error {
	for len(fn.pending) > 0 {
		c := fn.pending[0]
		if len(fn.pending) > keep {
			fn.waitFront(ctx, c, ok)
		} else {
			fn.emitPartials(ctx, c, ok)
			select {
			case <-c.done:
			default:
				return nil
			}
		}
		fn.emitPartials(ctx, c, ok)
		fn.pending = fn.pending[1:]
		if err := fn.emit(ctx, c, ok, failed); err != nil {
			for _, rest := range fn.pending { // the bundle fails: let the other calls finish first
				<-rest.done
			}
			fn.pending = nil
			return err
		}
	}
	return nil
}

// waitFront waits for the front call, emitting its partial records as they come.
func (fn *generateFn) waitFront(ctx context.Context, c *call, ok func(kafka.Envelope)) {
	for {
		select {
		case <-c.done:
			return
		case v := <-c.partials: // nil channel without partials: never ready
			fn.emitPartial(ctx, c, v, ok)
		}
	}
}

// emitPartials emits the partial records c has ready.
func (fn *generateFn) emitPartials(ctx context.Context, c *call, ok func(kafka.Envelope)) {
	for {
		select {
		case v := <-c.partials:
			fn.emitPartial(ctx, c, v, ok)
		default:
			return
		}
	}
}

// emitPartial writes a partial record: the input's key and headers, no
// offset to commit (the final record commits).
func (fn *generateFn) emitPartial(ctx context.Context, c *call, v []byte, ok func(kafka.Envelope)) {
	countPartial(ctx, fn.Kind)
	r := c.t.In.Result(fn.Cfg.OutputTopic, v).WithHeader(kafka.HeaderContentType, "application/json")
	r.Origin = kafka.Origin{}
	ok(r.WithHeader("partial", "true"))
}

func (fn *generateFn) emit(ctx context.Context, c *call, ok, failed func(kafka.Envelope)) error {
	if c.t.Stream != "" {
		fn.emitAll(ctx, c.extra, ok, failed)
		if c.t.RejectReason != "" {
			return nil // its dead letter went out when it came in
		}
	}
	if c.err != nil {
		if ctx.Err() != nil {
			return c.err // the bundle is being cancelled: let the runner retry it
		}
		reason, stage := ReasonEngineError, StageEngine
		var r *Rejection
		if errors.As(c.err, &r) {
			reason = r.Reason
			if r.Stage == StageTranscribe || r.Stage == StageCaption { // an audio or image extraction's first stage
				stage = r.Stage
			}
		}
		countDeadLetter(ctx, fn.Kind, stage, reason)
		failed(c.t.In.DeadLetter(fn.Cfg.DeadLetterTopic, stage, reason, c.err))
		return nil
	}
	if c.t.Stream != "" {
		return nil // a live chunk's records are in c.extra
	}
	observeTask(ctx, fn.Kind, c.took)
	countResult(ctx, fn.Kind)
	r := c.t.In.Result(fn.Cfg.OutputTopic, c.value).WithHeader(kafka.HeaderContentType, "application/json")
	ok(r.WithHeader("engine-ms", c.took.String()))
	return nil
}
