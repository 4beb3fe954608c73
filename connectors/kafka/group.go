package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	kgo "github.com/segmentio/kafka-go"
)

// Membership (SourceConfig.Membership) makes the unbounded source a member
// of its consumer group: worker processes with the same group share the
// topics' partitions, and the group protocol moves them on join, leave and
// crash (eager rebalancing: every change revokes all partitions and hands
// them out again). A member reads only the partitions its current
// generation holds, each from the group's committed offset, and the sinks
// of its process commit through that generation, only for partitions it
// still holds: a worker that lost a partition stops committing it, and the
// new owner re-reads what was in flight (at-least-once; duplicates bounded
// by what was in flight at the move).
//
// One member per group per process: the DoFn's single element reads every
// assigned partition through one bounded channel, so memory stays bounded
// by groupBuffer records whatever the partition count.

func init() {
	register.DoFn5x2[context.Context, *WatermarkEstimator, *sdf.LockRTracker, []byte, func(beam.EventTime, Envelope), sdf.ProcessContinuation, error](&groupReadFn{})
}

// groupBuffer bounds the records fetched but not yet emitted.
const groupBuffer = 1024

// member is this process's membership in one consumer group.
type member struct {
	cfg  SourceConfig
	cg   *kgo.ConsumerGroup
	recs chan groupRecord
	done chan struct{}

	lastEmit atomic.Int64 // Unix ns of the last record emitted (or the join)

	mu   sync.Mutex
	gen  *kgo.Generation
	held map[topicPartition]bool
	err  error // the last error setting up a generation, until the next one
}

type topicPartition struct {
	topic     string
	partition int
}

// groupRecord is one fetched record with the generation that fetched it
// and the offsets its Origin needs.
type groupRecord struct {
	m          kgo.Message
	gen        int32
	from, base int64
}

var members = struct {
	mu sync.Mutex
	m  map[string]*member
}{m: map[string]*member{}}

// joinGroup returns this process's member of cfg.Group, joining on first use.
func joinGroup(cfg SourceConfig) (*member, error) {
	members.mu.Lock()
	defer members.mu.Unlock()
	if m := members.m[cfg.Group]; m != nil {
		return m, nil
	}
	d, err := cfg.dialer()
	if err != nil {
		return nil, err
	}
	start := kgo.FirstOffset
	if cfg.Start == StartLatest {
		start = kgo.LastOffset
	}
	cg, err := kgo.NewConsumerGroup(kgo.ConsumerGroupConfig{
		ID: cfg.Group, Brokers: cfg.Brokers, Dialer: d, Topics: cfg.Topics,
		GroupBalancers:    []kgo.GroupBalancer{kgo.RoundRobinGroupBalancer{}},
		HeartbeatInterval: cfg.sessionTimeout() / 4, SessionTimeout: cfg.sessionTimeout(),
		RebalanceTimeout: cfg.sessionTimeout(), JoinGroupBackoff: time.Second,
		WatchPartitionChanges: true, StartOffset: start, Timeout: cfg.dialTimeout(),
	})
	if err != nil {
		return nil, fmt.Errorf("kafka: join group %s: %w", cfg.Group, err)
	}
	m := &member{cfg: cfg, cg: cg, recs: make(chan groupRecord, groupBuffer), done: make(chan struct{}), held: map[topicPartition]bool{}}
	m.touch()
	members.m[cfg.Group] = m
	go m.run()
	return m, nil
}

func (c SourceConfig) sessionTimeout() time.Duration {
	if c.SessionTimeout > 0 {
		return c.SessionTimeout
	}
	return 10 * time.Second
}

// run follows the group's generations until the member closes.
func (m *member) run() {
	for {
		gen, err := m.cg.Next(context.Background())
		if err != nil {
			if errors.Is(err, kgo.ErrGroupClosed) {
				return
			}
			m.mu.Lock()
			m.err = err
			m.mu.Unlock()
			select {
			case <-m.done:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		held := map[topicPartition]bool{}
		for topic, as := range gen.Assignments {
			for _, a := range as {
				held[topicPartition{topic, a.ID}] = true
			}
		}
		m.mu.Lock()
		m.gen, m.held, m.err = gen, held, nil
		m.mu.Unlock()
		reading(m.cfg) // a member of the group is ready, with or without partitions
		slog.Info("kafka: group generation", "group", m.cfg.Group, "generation", gen.ID, "partitions", len(held))
		gen.Start(func(ctx context.Context) { <-ctx.Done(); m.ended(gen) })
		for topic, as := range gen.Assignments {
			for _, a := range as {
				gen.Start(func(ctx context.Context) { m.read(ctx, gen.ID, topic, a) })
			}
		}
	}
}

// read fetches one assigned partition until its generation ends.
func (m *member) read(ctx context.Context, gen int32, topic string, a kgo.PartitionAssignment) {
	var r *reader
	defer func() {
		if r != nil {
			r.r.Close()
		}
	}()
	base, next := a.Offset, a.Offset
	for ctx.Err() == nil {
		if r == nil {
			var err error
			if r, err = m.cfg.newReader(topic, a.ID, a.Offset); err != nil {
				slog.Warn("kafka: group reader", "topic", topic, "partition", a.ID, "err", err)
				sleepCtx(ctx, time.Second)
				continue
			}
		}
		msg, err := r.r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("kafka: group fetch", "topic", topic, "partition", a.ID, "err", err)
				r.r.Close()
				r = nil
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		if base < 0 { // no committed offset: the chain starts at the first record read
			base, next = msg.Offset, msg.Offset
		}
		noteFetched(m.cfg.Group, msg, base)
		select {
		case m.recs <- groupRecord{m: msg, gen: gen, from: next, base: base}:
			next = msg.Offset + 1
		case <-ctx.Done():
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// ended forgets gen when it is over, before kafka-go closes its
// connection: from then on its partitions are not this member's to commit,
// and what it fetched is left for their next owner, until the next
// generation is handed out.
func (m *member) ended(gen *kgo.Generation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen == gen {
		m.gen, m.held = nil, map[topicPartition]bool{}
	}
}

// current reports the generation being read, 0 before the first and
// between generations.
func (m *member) current() (int32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen == nil {
		return 0, m.err
	}
	return m.gen.ID, nil
}

// commit commits the offsets of partitions the current generation holds
// and removes the others from topics (they are not this member's to
// commit; the tracker then does not count them as sent).
func (m *member) commit(ctx context.Context, topics map[string][]kgo.OffsetCommit) error {
	m.mu.Lock()
	gen, held := m.gen, m.held
	m.mu.Unlock()
	return m.commitIn(ctx, gen, held, topics)
}

// commitIn commits through gen the offsets of the partitions in held. A
// commit that gen's end overtakes is dropped, whatever error it gave: the
// coordinator refused it because a rebalance began, or kafka-go closed
// the generation's connection under it. The partition's next owner then
// re-reads from the last commit (at-least-once), and the worker goes on;
// failing the bundle would fail the job at every rebalance that meets a
// commit in flight. A transient error while gen goes on is retried.
func (m *member) commitIn(ctx context.Context, gen *kgo.Generation, held map[topicPartition]bool, topics map[string][]kgo.OffsetCommit) error {
	offsets := map[string]map[int]int64{}
	for topic, cs := range topics {
		kept := cs[:0]
		for _, c := range cs {
			if gen != nil && held[topicPartition{topic, c.Partition}] {
				kept = append(kept, c)
				if offsets[topic] == nil {
					offsets[topic] = map[int]int64{}
				}
				offsets[topic][c.Partition] = c.Offset
			}
		}
		if len(kept) == 0 {
			delete(topics, topic)
		} else {
			topics[topic] = kept
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	var dropped error
	err := retryCoordinator(ctx, func() error {
		err := gen.CommitOffsets(offsets)
		if err != nil && (isRebalance(err) || !m.holds(gen)) {
			dropped = err
			return nil
		}
		return err
	})
	switch {
	case dropped != nil:
		slog.Info("kafka: commit dropped by a rebalance", "group", m.cfg.Group, "generation", gen.ID, "err", dropped)
		clear(topics)
		return nil
	case err != nil:
		return fmt.Errorf("kafka: commit offsets of group %s in generation %d: %w", m.cfg.Group, gen.ID, err)
	}
	return nil
}

// holds reports whether gen is still the member's current generation.
func (m *member) holds(gen *kgo.Generation) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen == gen
}

// isRebalance reports the coordinator errors that mean the generation is over.
func isRebalance(err error) bool {
	return errors.Is(err, kgo.RebalanceInProgress) || errors.Is(err, kgo.IllegalGeneration) ||
		errors.Is(err, kgo.UnknownMemberId) || errors.Is(err, kgo.FencedInstanceID)
}

// memberOf returns this process's member of group, or nil.
func memberOf(group string) *member {
	members.mu.Lock()
	defer members.mu.Unlock()
	return members.m[group]
}

// commitFor commits a group's offsets: through this process's membership
// when it is a member of the group, else as a simple consumer.
func commitFor(ctx context.Context, cl *kgo.Client, group string, topics map[string][]kgo.OffsetCommit) error {
	if m := memberOf(group); m != nil {
		return m.commit(ctx, topics)
	}
	return CommitOffsets(ctx, cl, group, topics)
}

// CloseMembers leaves every consumer group this process joined, so their
// partitions move to the other members at once instead of after the
// session timeout. Call it when the job has ended (its sinks have
// committed): a member that leaves cannot commit.
func CloseMembers() {
	members.mu.Lock()
	ms := members.m
	members.m = map[string]*member{}
	members.mu.Unlock()
	for _, m := range ms {
		close(m.done)
		m.cg.Close()
	}
}

// groupReadFn is the membership source: one element (the impulse) whose
// restriction counts the records emitted, so a checkpoint resumes where
// the emission stopped whatever partitions the group hands out.
type groupReadFn struct {
	Cfg SourceConfig `json:"cfg"`
}

func (fn *groupReadFn) CreateInitialRestriction(_ []byte) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: math.MaxInt64}
}

func (fn *groupReadFn) SplitRestriction(_ []byte, rest offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{rest}
}

func (fn *groupReadFn) RestrictionSize(_ []byte, _ offsetrange.Restriction) float64 { return 1 }

func (fn *groupReadFn) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	t, err := offsetrange.NewGrowableTracker(rest, unknownEnd{})
	if err != nil {
		panic(err)
	}
	return sdf.NewLockRTracker(t)
}

// unknownEnd: the member's backlog is not known to the restriction.
type unknownEnd struct{}

func (unknownEnd) Estimate() int64 { return 0 }

func (fn *groupReadFn) CreateWatermarkEstimator() *WatermarkEstimator { return &WatermarkEstimator{} }

func (fn *groupReadFn) ProcessElement(ctx context.Context, we *WatermarkEstimator, rt *sdf.LockRTracker, _ []byte, emit func(beam.EventTime, Envelope)) (sdf.ProcessContinuation, error) {
	if Draining() { // stop reading; what was emitted is written and committed
		return endUnbounded(rt), nil
	}
	m, err := joinGroup(fn.Cfg)
	if err != nil {
		return sdf.ResumeProcessingIn(time.Second), err
	}
	// A position is claimed before a record is taken from the channel:
	// a claim refused (the runner split the restriction while this call
	// waited; prism does when a bundle shows no progress) then leaves the
	// record for the residual's call instead of dropping it. A claimed
	// position with no record is harmless: positions only count emissions.
	pos := rt.GetRestriction().(offsetrange.Restriction).Start
	claimed := false
	deadline := time.Now().Add(fn.Cfg.pollFor())
	idle := time.NewTimer(fn.Cfg.maxWait())
	defer idle.Stop()
	for time.Now().Before(deadline) {
		if !claimed {
			if !rt.TryClaim(pos) {
				return sdf.StopProcessing(), rt.GetError()
			}
			claimed = true
		}
		select {
		case <-ctx.Done():
			return sdf.StopProcessing(), ctx.Err()
		case <-idle.C:
			we.UpdateWatermark(time.Now()) // caught up: the watermark follows the clock
			if _, err := m.current(); err != nil {
				slog.Warn("kafka: group", "group", fn.Cfg.Group, "err", err)
			}
			if fn.Cfg.StopAfterIdle > 0 && m.idleFor() >= fn.Cfg.StopAfterIdle {
				return endUnbounded(rt), nil
			}
			return sdf.ResumeProcessingIn(0), nil
		case rec := <-m.recs:
			if Draining() {
				return endUnbounded(rt), nil // the record stays for the group's next reader
			}
			if gen, _ := m.current(); rec.gen != gen {
				continue // fetched for a generation that ended: the new owner re-reads it
			}
			pos, claimed = pos+1, false
			m.touch()
			emit(beam.EventTime(rec.m.Time.UnixMilli()), fromMessage(rec.m, fn.Cfg.Group, rec.from, rec.base))
			we.UpdateWatermark(rec.m.Time)
			idle.Reset(fn.Cfg.maxWait())
		}
	}
	return sdf.ResumeProcessingIn(0), nil
}

// touch notes that a record was just emitted.
func (m *member) touch() { m.lastEmit.Store(time.Now().UnixNano()) }

// idleFor is how long the member has emitted nothing (since it joined,
// before the first record).
func (m *member) idleFor() time.Duration { return time.Since(time.Unix(0, m.lastEmit.Load())) }
