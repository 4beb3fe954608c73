package kafka

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	kgo "github.com/segmentio/kafka-go"
)

// Start positions for [SourceConfig].Start.
const (
	StartCommitted = "committed" // the group's committed offset; earliest where there is none
	StartEarliest  = "earliest"
	StartLatest    = "latest"
	StartTimestamp = "timestamp" // the first offset at or after StartTime
)

// Field names of [SourceConfig] (besides those of [Config]).
const (
	FieldTopics         = "topics"
	FieldGroup          = "group"
	FieldStart          = "start"
	FieldStartTime      = "start_time"
	FieldMaxBytes       = "max_bytes"
	FieldMaxWait        = "max_wait"
	FieldIdleTimeout    = "idle_timeout"
	FieldPollFor        = "poll_for"
	FieldStopAfterIdle  = "stop_after_idle"
	FieldMembership     = "membership"
	FieldSessionTimeout = "session_timeout"
)

// SourceConfig configures [ReadBounded] and [ReadUnbounded].
type SourceConfig struct {
	Config
	// Topics to read. Required.
	Topics []string `json:"topics"`
	// Group is the consumer group whose committed offsets are the start position (with
	// Start "committed") and to which sinks commit. Empty: nothing is committed.
	Group string `json:"group,omitempty"`
	// Start is committed, earliest, latest or timestamp. Default committed.
	Start string `json:"start,omitempty"`
	// StartTime is the start position for Start "timestamp", Unix milliseconds.
	StartTime int64 `json:"start_time,omitempty"`
	// MaxBytes bounds one fetch response. Default 10 MiB.
	MaxBytes int `json:"max_bytes,omitempty"`
	// MaxWait is how long a fetch waits for new data. Default 250ms.
	MaxWait time.Duration `json:"max_wait,omitempty"`
	// IdleTimeout is how long a bounded read waits for a record before it asks the
	// broker whether the rest of its range still exists: it ends the read only when the
	// log was truncated or retention deleted the rest (an offset gap at the end of the
	// range), and keeps reading when the fetch is merely slow. Default 10s.
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	// PollFor is how long one unbounded ProcessElement call reads before it checkpoints
	// (it returns earlier when the partition is idle for MaxWait). Default 1s.
	PollFor time.Duration `json:"poll_for,omitempty"`
	// StopAfterIdle ends an unbounded read of a partition once it has had no new record
	// for this long, so a streaming job drains and exits when caught up. Default 0: never.
	StopAfterIdle time.Duration `json:"stop_after_idle,omitempty"`
	// Membership makes an unbounded read a member of Group: the worker
	// processes of one group share the topics' partitions, moved on join,
	// leave and crash (see group.go). Needs Group.
	Membership bool `json:"membership,omitempty"`
	// SessionTimeout is how long the group waits for a silent member (a
	// crashed worker) before moving its partitions. Default 10s.
	SessionTimeout time.Duration `json:"session_timeout,omitempty"`
}

// SourceSpec documents the fields of [SourceConfig] that [Config] does not have.
var SourceSpec = []SpecField{
	{FieldTopics, "topics to read", "(required)", "audio-in,images-in"},
	{FieldGroup, "consumer group for the start position and for offset commits; empty commits nothing", "", "dlmstream-caption"},
	{FieldStart, "start position: committed, earliest, latest or timestamp", StartCommitted, StartEarliest},
	{FieldStartTime, "start time for start=timestamp (Unix ms)", "0", "1767225600000"},
	{FieldMaxBytes, "largest fetch response in bytes", "10485760", "1048576"},
	{FieldMaxWait, "how long a fetch waits for data", "250ms", "100ms"},
	{FieldIdleTimeout, "bounded reads check after this long without a record whether the rest of the range still exists", "10s", "30s"},
	{FieldPollFor, "unbounded reads checkpoint after reading this long", "1s", "500ms"},
	{FieldStopAfterIdle, "unbounded reads of a partition end after this long without a record (0: never)", "0", "30s"},
	{FieldMembership, "unbounded reads join the consumer group: worker processes of one group share the partitions, which move on join, leave and crash", "false", "true"},
	{FieldSessionTimeout, "with membership: how long the group waits for a silent member before moving its partitions", "10s", "6s"},
}

// Validate reports the first problem with c.
func (c SourceConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if len(c.Topics) == 0 {
		return errors.New("kafka: no topics to read")
	}
	switch c.Start {
	case "", StartCommitted, StartEarliest, StartLatest:
	case StartTimestamp:
		if c.StartTime <= 0 {
			return errors.New("kafka: start=timestamp needs start_time")
		}
	default:
		return fmt.Errorf("kafka: unknown start position %q", c.Start)
	}
	if c.Start == StartCommitted && c.Group == "" {
		return errors.New("kafka: start=committed needs a group")
	}
	if c.Membership && c.Group == "" {
		return errors.New("kafka: membership needs a group")
	}
	if c.Membership && c.Start == StartTimestamp {
		return errors.New("kafka: membership starts at the group's committed offsets (earliest or latest where none): start=timestamp does not apply")
	}
	return nil
}

func (c SourceConfig) maxBytes() int {
	if c.MaxBytes <= 0 {
		return 10 << 20
	}
	return c.MaxBytes
}

func (c SourceConfig) maxWait() time.Duration {
	if c.MaxWait <= 0 {
		return 250 * time.Millisecond
	}
	return c.MaxWait
}

func (c SourceConfig) idleTimeout() time.Duration {
	if c.IdleTimeout <= 0 {
		return 10 * time.Second
	}
	return c.IdleTimeout
}

func (c SourceConfig) pollFor() time.Duration {
	if c.PollFor <= 0 {
		return time.Second
	}
	return c.PollFor
}

// PartitionRange is one partition to read and the offsets [Start, End) to read from it;
// End is math.MaxInt64 for unbounded reads.
type PartitionRange struct {
	Topic     string
	Partition int
	Start     int64
	End       int64
}

func init() {
	beam.RegisterType(reflect.TypeOf((*PartitionRange)(nil)).Elem())
	register.DoFn3x1[context.Context, []byte, func(PartitionRange), error](&listPartitionsFn{})
	register.Emitter1[PartitionRange]()
	register.DoFn4x1[context.Context, *sdf.LockRTracker, PartitionRange, func(Envelope), error](&boundedReadFn{})
	register.DoFn5x2[context.Context, *WatermarkEstimator, *sdf.LockRTracker, PartitionRange, func(beam.EventTime, Envelope), sdf.ProcessContinuation, error](&unboundedReadFn{})
	register.Emitter1[Envelope]()
	register.Emitter2[beam.EventTime, Envelope]()
}

// ReadBounded reads the configured topics from the start position up to each
// partition's high watermark at job start and ends: a batch source.
// The result is a PCollection<Envelope>.
func ReadBounded(s beam.Scope, cfg SourceConfig) beam.PCollection {
	s = s.Scope("kafka.ReadBounded")
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	imp := beam.Impulse(s)
	expectReading(cfg) // monitor: not ready until a partition reader is open (metrics.go)
	parts := beam.ParDo(s, &listPartitionsFn{Cfg: cfg, Bounded: true}, imp)
	return beam.ParDo(s, &boundedReadFn{Cfg: cfg}, parts)
}

// ReadUnbounded reads the configured topics from the start position on, forever: a
// streaming source. The result is a PCollection<Envelope> with record timestamps.
func ReadUnbounded(s beam.Scope, cfg SourceConfig) beam.PCollection {
	s = s.Scope("kafka.ReadUnbounded")
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	imp := beam.Impulse(s)
	expectReading(cfg) // monitor: not ready until a partition reader is open (metrics.go)
	if cfg.Membership {
		return beam.ParDo(s, &groupReadFn{Cfg: cfg}, imp)
	}
	parts := beam.ParDo(s, &listPartitionsFn{Cfg: cfg}, imp)
	return beam.ParDo(s, &unboundedReadFn{Cfg: cfg}, parts)
}

// listPartitionsFn turns the impulse into one PartitionRange per partition of the
// configured topics, resolving the start position (and, if bounded, the end).
type listPartitionsFn struct {
	Cfg     SourceConfig `json:"cfg"`
	Bounded bool         `json:"bounded"`
}

func (fn *listPartitionsFn) ProcessElement(ctx context.Context, _ []byte, emit func(PartitionRange)) error {
	ranges, err := ListRanges(ctx, fn.Cfg, fn.Bounded)
	if err != nil {
		return err
	}
	for _, r := range ranges {
		emit(r)
	}
	return nil
}

// ListRanges resolves the partitions of cfg's topics and their start offsets (and the
// high watermark as end when bounded; math.MaxInt64 otherwise).
func ListRanges(ctx context.Context, cfg SourceConfig, bounded bool) ([]PartitionRange, error) {
	cl, err := cfg.client()
	if err != nil {
		return nil, err
	}
	md, err := cl.Metadata(ctx, &kgo.MetadataRequest{Topics: cfg.Topics})
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata: %w", err)
	}
	var out []PartitionRange
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("kafka: topic %s: %w", t.Name, t.Error)
		}
		ids := make([]int, len(t.Partitions))
		for i, p := range t.Partitions {
			ids[i] = p.ID
		}
		first, err := listOffsets(ctx, cl, t.Name, ids, kgo.FirstOffset)
		if err != nil {
			return nil, err
		}
		last, err := listOffsets(ctx, cl, t.Name, ids, kgo.LastOffset)
		if err != nil {
			return nil, err
		}
		var start map[int]int64
		switch cfg.Start {
		case StartEarliest:
			start = first
		case StartLatest:
			start = last
		case StartTimestamp:
			if start, err = listOffsets(ctx, cl, t.Name, ids, cfg.StartTime); err != nil {
				return nil, err
			}
		default:
			if start, err = committedOffsets(ctx, cl, cfg.Group, t.Name, ids); err != nil {
				return nil, err
			}
		}
		for _, id := range ids {
			s, ok := start[id]
			if !ok || s < 0 { // no commit, or no record at/after the timestamp
				s = last[id]
				if cfg.Start == "" || cfg.Start == StartCommitted {
					s = first[id]
				}
			}
			s = max(s, first[id]) // committed offsets may have been deleted by retention
			end := int64(math.MaxInt64)
			if bounded {
				end = max(last[id], s)
			}
			out = append(out, PartitionRange{Topic: t.Name, Partition: id, Start: s, End: end})
		}
	}
	return out, nil
}

// listOffsets asks for the offsets at ts (kgo.FirstOffset, kgo.LastOffset or Unix ms).
func listOffsets(ctx context.Context, cl *kgo.Client, topic string, ids []int, ts int64) (map[int]int64, error) {
	reqs := make([]kgo.OffsetRequest, len(ids))
	for i, id := range ids {
		reqs[i] = kgo.OffsetRequest{Partition: id, Timestamp: ts}
	}
	resp, err := cl.ListOffsets(ctx, &kgo.ListOffsetsRequest{Topics: map[string][]kgo.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("kafka: list offsets of %s: %w", topic, err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("kafka: list offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		switch ts {
		case kgo.FirstOffset:
			out[p.Partition] = p.FirstOffset
		case kgo.LastOffset:
			out[p.Partition] = p.LastOffset
		default:
			out[p.Partition] = -1
			for off := range p.Offsets {
				if out[p.Partition] < 0 || off < out[p.Partition] {
					out[p.Partition] = off
				}
			}
		}
	}
	return out, nil
}

// committedOffsets returns the group's committed offsets (-1 where none).
func committedOffsets(ctx context.Context, cl *kgo.Client, group, topic string, ids []int) (map[int]int64, error) {
	var resp *kgo.OffsetFetchResponse
	err := retryCoordinator(ctx, func() error {
		var err error
		resp, err = cl.OffsetFetch(ctx, &kgo.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
		if err != nil {
			return fmt.Errorf("kafka: fetch committed offsets of group %s: %w", group, err)
		}
		if resp.Error != nil && !errors.Is(resp.Error, kgo.GroupIdNotFound) {
			return fmt.Errorf("kafka: fetch committed offsets of group %s: %w", group, resp.Error)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if errors.Is(resp.Error, kgo.GroupIdNotFound) {
		return map[int]int64{}, nil // a new group has no commits (kfake says so explicitly)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("kafka: committed offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// reader wraps a kafka-go partition reader with the offset it will return next.
type reader struct {
	r    *kgo.Reader
	next int64
	hwm  atomic.Int64 // last seen high watermark, for progress estimates
	last time.Time    // when the last record arrived (or the reader opened)
}

// ReaderQueue is how many fetched records a partition reader holds before
// its consumer takes them: while the pipeline downstream is busy (the
// engine refusing with ErrBusy), fetching pauses once this many are
// waiting, so a partition's reader holds at most this many records (and
// one fetch response being decoded) whatever the lag.
const ReaderQueue = 100

func (c SourceConfig) newReader(topic string, partition int, offset int64) (*reader, error) {
	d, err := c.dialer()
	if err != nil {
		return nil, err
	}
	r := kgo.NewReader(kgo.ReaderConfig{
		Brokers: c.Brokers, Topic: topic, Partition: partition, Dialer: d,
		MinBytes: 1, MaxBytes: c.maxBytes(), MaxWait: c.maxWait(), QueueCapacity: ReaderQueue,
		ReadBackoffMin: 10 * time.Millisecond, ReadBackoffMax: c.maxWait(),
	})
	if err := r.SetOffset(offset); err != nil {
		r.Close()
		return nil, err
	}
	rd := &reader{r: r, next: offset, last: time.Now()}
	rd.hwm.Store(offset)
	reading(c) // monitor: the source is ready (metrics.go)
	return rd, nil
}

// readerPool keeps readers between the ProcessElement calls of one DoFn instance, so an
// unbounded read that resumes where it stopped does not reconnect.
type readerPool struct {
	mu sync.Mutex
	m  map[string]*reader
}

func (p *readerPool) get(cfg SourceConfig, topic string, partition int, offset int64) (*reader, error) {
	key := fmt.Sprintf("%s/%d", topic, partition)
	p.mu.Lock()
	r := p.m[key]
	if r != nil {
		delete(p.m, key)
	}
	p.mu.Unlock()
	if r != nil && r.next == offset {
		return r, nil
	}
	if r != nil {
		r.r.Close()
	}
	return cfg.newReader(topic, partition, offset)
}

func (p *readerPool) put(topic string, partition int, r *reader) {
	key := fmt.Sprintf("%s/%d", topic, partition)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]*reader{}
	}
	if old := p.m[key]; old != nil {
		old.r.Close()
	}
	p.m[key] = r
}

func (p *readerPool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, r := range p.m {
		r.r.Close()
		delete(p.m, k)
	}
}

// unboundedReadFn reads [Start, ∞) of one partition, checkpointing after each poll.
type unboundedReadFn struct {
	Cfg SourceConfig `json:"cfg"`

	pool readerPool
}

// endEstimator reports the last seen high watermark as the end of the growing range.
type endEstimator struct{ hwm *atomic.Int64 }

func (e endEstimator) Estimate() int64 { return e.hwm.Load() }

func (fn *unboundedReadFn) CreateInitialRestriction(p PartitionRange) offsetrange.Restriction {
	return offsetrange.Restriction{Start: p.Start, End: math.MaxInt64}
}

func (fn *unboundedReadFn) SplitRestriction(_ PartitionRange, rest offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{rest}
}

func (fn *unboundedReadFn) RestrictionSize(_ PartitionRange, rest offsetrange.Restriction) float64 {
	return 1 // unknown backlog; every partition weighs the same
}

func (fn *unboundedReadFn) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	var hwm atomic.Int64
	hwm.Store(rest.Start)
	t, err := offsetrange.NewGrowableTracker(rest, endEstimator{&hwm})
	if err != nil {
		panic(err) // only for a negative start, which ListRanges never produces
	}
	return sdf.NewLockRTracker(t)
}

// WatermarkEstimator is a manual watermark estimator that is safe for the concurrent use
// the SDK harness makes of it (it reads the watermark on splits while ProcessElement
// updates it; Beam's sdf.ManualWatermarkEstimator is unsynchronized).
type WatermarkEstimator struct {
	mu sync.Mutex
	t  time.Time
}

// CurrentWatermark implements sdf.WatermarkEstimator.
func (e *WatermarkEstimator) CurrentWatermark() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.t
}

// UpdateWatermark moves the watermark forward to t (never back).
func (e *WatermarkEstimator) UpdateWatermark(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.After(e.t) {
		e.t = t
	}
}

func (fn *unboundedReadFn) CreateWatermarkEstimator() *WatermarkEstimator {
	return &WatermarkEstimator{}
}

func (fn *unboundedReadFn) Teardown() { fn.pool.closeAll() }

func (fn *unboundedReadFn) ProcessElement(ctx context.Context, we *WatermarkEstimator, rt *sdf.LockRTracker, p PartitionRange, emit func(beam.EventTime, Envelope)) (sdf.ProcessContinuation, error) {
	rest := rt.GetRestriction().(offsetrange.Restriction)
	if Draining() {
		return endUnbounded(rt), nil
	}
	r, err := fn.pool.get(fn.Cfg, p.Topic, p.Partition, rest.Start)
	if err != nil {
		noteError("fetch", p.Topic, err)
		if transient(err) {
			return sdf.ResumeProcessingIn(time.Second), nil
		}
		return sdf.ResumeProcessingIn(time.Second), err
	}
	from := rest.Start
	deadline := time.Now().Add(fn.Cfg.pollFor())
	for time.Now().Before(deadline) {
		if Draining() { // BeginDrain: read no more; what was emitted is written and committed
			r.r.Close()
			return endUnbounded(rt), nil
		}
		fctx, cancel := context.WithTimeout(ctx, fn.Cfg.maxWait()+50*time.Millisecond)
		m, err := r.r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				r.r.Close()
				return sdf.StopProcessing(), ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				// Caught up: the watermark follows the wall clock until new records come.
				we.UpdateWatermark(time.Now())
				if fn.Cfg.StopAfterIdle > 0 && time.Since(r.last) >= fn.Cfg.StopAfterIdle {
					// Idle long enough: claim the rest of the range and end this partition.
					r.r.Close()
					rt.TryClaim(int64(math.MaxInt64) - 1)
					return sdf.StopProcessing(), nil
				}
				break
			}
			r.r.Close()
			err = fmt.Errorf("kafka: read %s/%d at %d: %w", p.Topic, p.Partition, from, err)
			noteError("fetch", p.Topic, err)
			if transient(err) {
				// A broker restart or a cut network: what was claimed is
				// emitted; the runner resumes the rest from the next offset
				// with a new reader (this one is closed, not pooled).
				return sdf.ResumeProcessingIn(time.Second), nil
			}
			return sdf.ResumeProcessingIn(time.Second), err
		}
		if !rt.TryClaim(m.Offset) {
			// The runner split the restriction: this reader's position is no longer ours.
			r.r.Close()
			return sdf.StopProcessing(), rt.GetError()
		}
		r.next, r.last = m.Offset+1, time.Now()
		r.hwm.Store(m.HighWaterMark)
		noteFetched(fn.Cfg.Group, m, p.Start) // metrics.go: fetched records, high watermark
		emit(beam.EventTime(m.Time.UnixMilli()), fromMessage(m, fn.Cfg.Group, from, p.Start))
		we.UpdateWatermark(m.Time)
		from = m.Offset + 1
	}
	fn.pool.put(p.Topic, p.Partition, r)
	return sdf.ResumeProcessingIn(0), nil
}
