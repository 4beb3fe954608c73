package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	kgo "github.com/segmentio/kafka-go"
)

// Field names of [SinkConfig] (besides those of [Config]).
const (
	FieldTopic        = "topic"
	FieldCommit       = "commit"
	FieldBatchSize    = "batch_size"
	FieldBatchBytes   = "batch_bytes"
	FieldMaxAttempts  = "max_attempts"
	FieldWriteTimeout = "write_timeout"
)

// SinkConfig configures [Write] and [Writer].
type SinkConfig struct {
	Config
	// Topic receives envelopes whose Topic is empty. Required unless every envelope names its topic.
	Topic string `json:"topic,omitempty"`
	// Commit turns on offset commits: after a batch is written, the origins of its
	// envelopes are marked done and each partition's offset is committed to the origin's
	// group as soon as every lower offset is done. Default false.
	Commit bool `json:"commit,omitempty"`
	// BatchSize is how many records go out in one produce call. Default 100.
	BatchSize int `json:"batch_size,omitempty"`
	// BatchBytes bounds one produce request. Default 1 MiB.
	BatchBytes int64 `json:"batch_bytes,omitempty"`
	// MaxAttempts is how often a failed produce is tried before the bundle fails (and
	// the runner retries it). Default 10.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// WriteTimeout bounds one produce call. Default 30s.
	WriteTimeout time.Duration `json:"write_timeout,omitempty"`
}

// SinkSpec documents the fields of [SinkConfig] that [Config] does not have.
var SinkSpec = []SpecField{
	{FieldTopic, "default destination topic (envelopes may name their own)", "", "captions-out"},
	{FieldCommit, "commit input offsets to their group once their results are written", "false (Write callers set it)", "true"},
	{FieldBatchSize, "records per produce call", "100", "500"},
	{FieldBatchBytes, "bytes per produce request", "1048576", "4194304"},
	{FieldMaxAttempts, "tries per produce call before the bundle fails", "10", "3"},
	{FieldWriteTimeout, "timeout of one produce call", "30s", "10s"},
}

func (c SinkConfig) batchSize() int {
	if c.BatchSize <= 0 {
		return 100
	}
	return c.BatchSize
}

// Writer writes envelopes to Kafka and commits their origins. Safe for concurrent use.
type Writer struct {
	cfg     SinkConfig
	w       *kgo.Writer
	cl      *kgo.Client
	tracker *OffsetTracker
}

// NewWriter returns a writer for cfg that reports origins to tracker (nil: the
// process-wide tracker shared by every sink in this process).
func NewWriter(cfg SinkConfig, tracker *OffsetTracker) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	cl, err := cfg.client()
	if err != nil {
		return nil, err
	}
	if tracker == nil {
		tracker = &processTracker
	}
	maxAttempts := cfg.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 10
	}
	timeout := cfg.WriteTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	batchBytes := cfg.BatchBytes
	if batchBytes <= 0 {
		batchBytes = 1 << 20
	}
	w := &kgo.Writer{
		Addr: kgo.TCP(cfg.Brokers...), Transport: tr, Balancer: &kgo.Hash{},
		MaxAttempts: maxAttempts, WriteBackoffMin: 50 * time.Millisecond, WriteBackoffMax: time.Second,
		BatchSize: cfg.batchSize(), BatchBytes: batchBytes, BatchTimeout: time.Millisecond,
		WriteTimeout: timeout, RequiredAcks: kgo.RequireAll, AllowAutoTopicCreation: true,
	}
	return &Writer{cfg: cfg, w: w, cl: cl, tracker: tracker}, nil
}

// Write produces envs (each to its Topic, or the default topic; CommitOnly ones are not
// written) and, with Commit on, then marks their origins done and commits what became committable. It returns only
// after the records are acknowledged by all in-sync replicas.
func (w *Writer) Write(ctx context.Context, envs ...Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	msgs := make([]kgo.Message, 0, len(envs))
	for _, e := range envs {
		if e.CommitOnly {
			continue
		}
		topic := e.Topic
		if topic == "" {
			topic = w.cfg.Topic
		}
		if topic == "" {
			return fmt.Errorf("kafka: envelope %s has no destination topic and the sink has no default", e.Header(HeaderRequestID))
		}
		msgs = append(msgs, e.message(topic))
	}
	if len(msgs) > 0 {
		if err := w.writeRetry(ctx, msgs); err != nil {
			return err
		}
		noteWritten(msgs) // metrics.go
	}
	if !w.cfg.Commit {
		return nil
	}
	return w.commit(ctx, envs)
}

// writeRetry writes msgs until Kafka has acknowledged every one: a batch
// whose records failed with a transient error (a broker restart, a leader
// move, a cut network, a topic being auto-created) is retried, only its
// failed records, with a backoff up to 5 s, for as long as ctx lasts;
// nothing is committed meanwhile, so the input offsets stay where the
// written results are. Each failure is counted and logged (noteError). A
// permanent error (authorization, a record too large) returns at once.
func (w *Writer) writeRetry(ctx context.Context, msgs []kgo.Message) error {
	wait := 100 * time.Millisecond
	for {
		err := w.w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		topic := failedTopic(msgs, err)
		if ctx.Err() != nil {
			return &writeError{topic: topic, err: err}
		}
		noteError("write", topic, &writeError{topic: topic, err: err})
		if !transient(err) {
			return &writeError{topic: topic, err: err}
		}
		var werrs kgo.WriteErrors
		if errors.As(err, &werrs) && len(werrs) == len(msgs) {
			retry := msgs[:0:0]
			for i, e := range werrs {
				if e != nil {
					retry = append(retry, msgs[i])
				}
			}
			msgs = retry
		}
		if err := backoff(ctx, &wait, 5*time.Second); err != nil {
			return &writeError{topic: topic, err: err}
		}
	}
}

// writeError is a failed produce, in one line: the topic that refused it
// and each distinct error once, with how many records had it (kafka-go's
// WriteErrors repeats the text for every record of the batch).
type writeError struct {
	topic string
	err   error
}

func (e *writeError) Error() string {
	var werrs kgo.WriteErrors
	if !errors.As(e.err, &werrs) {
		return fmt.Sprintf("kafka: write to %s: %v", e.topic, e.err)
	}
	var order []string
	count := map[string]int{}
	for _, we := range werrs {
		if we == nil {
			continue
		}
		m := we.Error()
		if count[m] == 0 {
			order = append(order, m)
		}
		count[m]++
	}
	parts := make([]string, len(order))
	for i, m := range order {
		parts[i] = fmt.Sprintf("%d x %s", count[m], m)
	}
	return fmt.Sprintf("kafka: write to %s: %d of %d records failed: %s", e.topic, werrs.Count(), len(werrs), strings.Join(parts, "; "))
}

func (e *writeError) Unwrap() error { return e.err }

// failedTopic is the topic of the first record that err says failed (a
// batch can hold results and dead letters, and only one topic may refuse
// them), or of the first record when err is about the whole batch.
func failedTopic(msgs []kgo.Message, err error) string {
	var werrs kgo.WriteErrors
	if errors.As(err, &werrs) && len(werrs) == len(msgs) {
		for i, e := range werrs {
			if e != nil {
				return msgs[i].Topic
			}
		}
	}
	return msgs[0].Topic
}

// commit marks the origins done and commits the partitions whose commit point moved.
func (w *Writer) commit(ctx context.Context, envs []Envelope) error {
	points := map[sentKey]int64{}
	for _, e := range envs {
		if !e.Origin.Committable() {
			continue
		}
		if next, ok := w.tracker.Done(e.Origin); ok {
			k := sentKey{e.Origin.Group, e.Origin.Topic, e.Origin.Partition}
			points[k] = max(points[k], next)
		}
	}
	if len(points) == 0 {
		return nil
	}
	return w.tracker.sendCommits(points, func(group string, topics map[string][]kgo.OffsetCommit) error {
		return commitFor(ctx, w.cl, group, topics) // through the group membership, where this process has one
	})
}

// CommitOffsets commits offsets for a group as a simple (non-member) consumer,
// retrying while the group's coordinator is not ready (see retryCoordinator).
func CommitOffsets(ctx context.Context, cl *kgo.Client, group string, topics map[string][]kgo.OffsetCommit) error {
	return retryCoordinator(ctx, func() error {
		resp, err := cl.OffsetCommit(ctx, &kgo.OffsetCommitRequest{GroupID: group, GenerationID: -1, Topics: topics})
		if err != nil {
			return fmt.Errorf("kafka: commit offsets of group %s: %w", group, err)
		}
		for topic, parts := range resp.Topics {
			for _, p := range parts {
				if p.Error != nil {
					return fmt.Errorf("kafka: commit %s/%d for group %s: %w", topic, p.Partition, group, p.Error)
				}
			}
		}
		return nil
	})
}

// retryCoordinator runs op until it succeeds, fails with an error that is
// not transient, or ctx ends, backing off up to 2 s. A real broker answers
// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS
// for a while after it starts or a group is first used (the
// __consumer_offsets topic is being created); kfake never does. A broker
// restart or a cut network gives connection errors: the records are
// written, and their commit must not fail the bundle and have them written
// again.
func retryCoordinator(ctx context.Context, op func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := op()
		if err == nil || !transient(err) {
			return err
		}
		noteError("commit", "", err)
		if backoff(ctx, &wait, 2*time.Second) != nil {
			return err
		}
	}
}

// Close flushes and closes the writer.
func (w *Writer) Close() error { return w.w.Close() }

// Validate reports the first problem with c.
func (c SinkConfig) Validate() error { return c.Config.Validate() }

func init() {
	register.DoFn2x1[context.Context, Envelope, error](&writeFn{})
}

// Write writes a PCollection<Envelope> to Kafka: each envelope to its own Topic or to
// cfg.Topic, in batches of cfg.BatchSize (and at the end of every bundle), committing
// input offsets after their results are written when cfg.Commit is set.
func Write(s beam.Scope, cfg SinkConfig, col beam.PCollection) {
	s = s.Scope("kafka.Write")
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	beam.ParDo0(s, &writeFn{Cfg: cfg}, col)
}

// writeFn buffers a bundle's envelopes and writes them in batches.
type writeFn struct {
	Cfg SinkConfig `json:"cfg"`

	w   *Writer
	buf []Envelope
}

func (fn *writeFn) Setup() error {
	w, err := NewWriter(fn.Cfg, nil)
	fn.w = w
	return err
}

func (fn *writeFn) ProcessElement(ctx context.Context, e Envelope) error {
	// Counted here, not after the flush: a runner reports the counters of
	// a bundle that succeeded (so every counted record was written), and
	// prism's final metrics miss what the last FinishBundle counts.
	if !e.CommitOnly {
		beam.NewCounter("dlmstream", "kafka.written").Inc(ctx, 1)
	}
	fn.buf = append(fn.buf, e)
	if len(fn.buf) >= fn.Cfg.batchSize() {
		return fn.flush(ctx)
	}
	return nil
}

func (fn *writeFn) FinishBundle(ctx context.Context) error { return fn.flush(ctx) }

func (fn *writeFn) flush(ctx context.Context) error {
	if len(fn.buf) == 0 {
		return nil
	}
	err := fn.w.Write(ctx, fn.buf...)
	fn.buf = fn.buf[:0]
	return err
}

func (fn *writeFn) Teardown() error {
	if fn.w == nil {
		return nil
	}
	return fn.w.Close()
}
