package kafka_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	kgo "github.com/segmentio/kafka-go"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// targets returns the in-process broker and, when DLMSTREAM_KAFKA_BROKERS is set, the real one.
func forTargets(t *testing.T, partitions int, fn func(t *testing.T, tg kafkatest.Target)) {
	t.Run("kfake", func(t *testing.T) { fn(t, kafkatest.Embedded(t, partitions)) })
	t.Run("kafka", func(t *testing.T) { fn(t, kafkatest.Real(t)) })
}

func inputs(n int) []kgo.Message {
	msgs := make([]kgo.Message, n)
	for i := range msgs {
		msgs[i] = kgo.Message{Key: []byte("k" + strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i)),
			Headers: []kgo.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))}}}
	}
	return msgs
}

func TestWriterCommitsOnlyContiguousOffsets(t *testing.T) {
	forTargets(t, 1, func(t *testing.T, tg kafkatest.Target) {
		in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "g")
		kafkatest.CreateTopic(t, tg.Brokers, in, 1)
		kafkatest.CreateTopic(t, tg.Brokers, out, 1)
		var tracker kafka.OffsetTracker
		w, err := kafka.NewWriter(kafka.SinkConfig{Config: kafka.Config{Brokers: tg.Brokers}, Topic: out, Commit: true}, &tracker)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		res := func(off int64) kafka.Envelope {
			e := kafka.Envelope{Value: []byte("r" + strconv.FormatInt(off, 10)),
				Origin: kafka.Origin{Group: group, Topic: in, Offset: off, From: off}}
			return e.Result("", e.Value)
		}
		steps := []struct {
			offsets []int64
			want    int64 // committed offset after the step; -1 none
		}{{[]int64{2, 1}, -1}, {[]int64{0}, 3}, {[]int64{4}, 3}, {[]int64{3, 5}, 6}}
		for i, s := range steps {
			var envs []kafka.Envelope
			for _, o := range s.offsets {
				envs = append(envs, res(o))
			}
			if err := w.Write(context.Background(), envs...); err != nil {
				t.Fatal(err)
			}
			if got := kafkatest.Committed(t, tg.Brokers, group, in, 1)[0]; got != s.want {
				t.Fatalf("step %d (wrote %v): committed %d, want %d", i, s.offsets, got, s.want)
			}
		}
		if got := len(kafkatest.ReadAll(t, tg.Brokers, out, 6, 10*time.Second)); got != 6 {
			t.Fatalf("output has %d records, want 6", got)
		}
	})
}

func TestListRangesStartPositions(t *testing.T) {
	forTargets(t, 2, func(t *testing.T, tg kafkatest.Target) {
		topic, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "g")
		kafkatest.CreateTopic(t, tg.Brokers, topic, 2)
		before := time.Now().Add(-time.Second)
		msgs := inputs(10)
		for i := range msgs {
			msgs[i].Partition = i % 2
		}
		w := &kgo.Writer{Addr: kgo.TCP(tg.Brokers...), Topic: topic, Balancer: balancerFunc(func(m kgo.Message) int { return m.Partition }), BatchTimeout: time.Millisecond, RequiredAcks: kgo.RequireAll}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			t.Fatal(err)
		}
		w.Close()
		cl := &kgo.Client{Addr: kgo.TCP(tg.Brokers...)}
		if err := kafka.CommitOffsets(context.Background(), cl, group, map[string][]kgo.OffsetCommit{topic: {{Partition: 1, Offset: 3}}}); err != nil {
			t.Fatal(err)
		}
		cfg := kafka.SourceConfig{Config: kafka.Config{Brokers: tg.Brokers}, Topics: []string{topic}, Group: group}
		tests := []struct {
			start     string
			at        int64
			bounded   bool
			wantStart [2]int64
			wantEnd   [2]int64
		}{
			{kafka.StartCommitted, 0, true, [2]int64{0, 3}, [2]int64{5, 5}},
			{kafka.StartEarliest, 0, true, [2]int64{0, 0}, [2]int64{5, 5}},
			{kafka.StartLatest, 0, false, [2]int64{5, 5}, [2]int64{1<<63 - 1, 1<<63 - 1}},
			{kafka.StartTimestamp, before.UnixMilli(), true, [2]int64{0, 0}, [2]int64{5, 5}},
			{kafka.StartTimestamp, time.Now().Add(time.Hour).UnixMilli(), true, [2]int64{5, 5}, [2]int64{5, 5}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s-%d", tt.start, tt.at), func(t *testing.T) {
				c := cfg
				c.Start, c.StartTime = tt.start, tt.at
				got, err := kafka.ListRanges(context.Background(), c, tt.bounded)
				if err != nil {
					t.Fatal(err)
				}
				sort.Slice(got, func(i, j int) bool { return got[i].Partition < got[j].Partition })
				if len(got) != 2 {
					t.Fatalf("ranges = %+v, want 2", got)
				}
				for p := range 2 {
					if got[p].Start != tt.wantStart[p] || got[p].End != tt.wantEnd[p] {
						t.Errorf("partition %d: [%d, %d), want [%d, %d)", p, got[p].Start, got[p].End, tt.wantStart[p], tt.wantEnd[p])
					}
				}
			})
		}
	})
}

type balancerFunc func(kgo.Message) int

func (f balancerFunc) Balance(m kgo.Message, _ ...int) int { return f(m) }

func init() {
	register.DoFn2x0[kafka.Envelope, func(kafka.Envelope)](&echoFn{})
}

// echoFn turns each input into a result for the sink's default topic.
type echoFn struct{}

func (echoFn) ProcessElement(e kafka.Envelope, emit func(kafka.Envelope)) {
	emit(e.Result("", append([]byte("echo:"), e.Value...)))
}

func runBounded(t *testing.T, tg kafkatest.Target, in, out, group string) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	src := kafka.ReadBounded(s, kafka.SourceConfig{Config: kafka.Config{Brokers: tg.Brokers}, Topics: []string{in},
		Group: group, Start: kafka.StartCommitted, IdleTimeout: 5 * time.Second})
	res := beam.ParDo(s, &echoFn{}, src)
	kafka.Write(s, kafka.SinkConfig{Config: kafka.Config{Brokers: tg.Brokers}, Topic: out, Commit: true}, res)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
}

// TestReadBoundedWriteCommit runs source → result → sink on prism three times: the
// second run starts from the committed offsets and finds nothing new; the third reads
// only what was produced since.
func TestReadBoundedWriteCommit(t *testing.T) {
	forTargets(t, 4, func(t *testing.T, tg kafkatest.Target) {
		in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "g")
		kafkatest.CreateTopic(t, tg.Brokers, in, 4)
		kafkatest.CreateTopic(t, tg.Brokers, out, 4)
		msgs := inputs(300)
		kafkatest.Produce(t, tg.Brokers, in, msgs[:200]...)
		runBounded(t, tg, in, out, group)
		check := func(want int) {
			t.Helper()
			got := kafkatest.ReadAll(t, tg.Brokers, out, want, 20*time.Second)
			seen := map[string]int{}
			for _, m := range got {
				for _, h := range m.Headers {
					if h.Key == kafka.HeaderRequestID {
						seen[string(h.Value)]++
					}
				}
			}
			if len(got) != want || len(seen) != want {
				t.Fatalf("output has %d records for %d request ids, want %d", len(got), len(seen), want)
			}
			committed := kafkatest.Committed(t, tg.Brokers, group, in, 4)
			var sum int64
			for _, off := range committed {
				sum += off
			}
			if sum != int64(want) {
				t.Fatalf("committed offsets %v sum to %d, want %d", committed, sum, want)
			}
		}
		check(200)
		runBounded(t, tg, in, out, group)
		check(200)
		kafkatest.Produce(t, tg.Brokers, in, msgs[200:]...)
		runBounded(t, tg, in, out, group)
		check(300)
	})
}

// TestReadUnbounded runs the streaming source on prism: inputs produced before and
// while the job runs all get results; the job ends by itself once every partition has
// been idle for StopAfterIdle (cancelling a running prism job trips a data race inside
// Beam's harness under -race).
func TestReadUnbounded(t *testing.T) {
	forTargets(t, 2, func(t *testing.T, tg kafkatest.Target) {
		in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "g")
		kafkatest.CreateTopic(t, tg.Brokers, in, 2)
		kafkatest.CreateTopic(t, tg.Brokers, out, 2)
		msgs := inputs(60)
		kafkatest.Produce(t, tg.Brokers, in, msgs[:30]...)
		p, s := beam.NewPipelineWithRoot()
		src := kafka.ReadUnbounded(s, kafka.SourceConfig{Config: kafka.Config{Brokers: tg.Brokers}, Topics: []string{in},
			Group: group, Start: kafka.StartEarliest, MaxWait: 100 * time.Millisecond, PollFor: 300 * time.Millisecond,
			StopAfterIdle: 8 * time.Second})
		kafka.Write(s, kafka.SinkConfig{Config: kafka.Config{Brokers: tg.Brokers}, Topic: out, Commit: true},
			beam.ParDo(s, &echoFn{}, src))
		done := make(chan error, 1)
		go func() { _, err := beam.Run(context.Background(), "prism", p); done <- err }()
		got := kafkatest.ReadAll(t, tg.Brokers, out, 30, 60*time.Second)
		if len(got) < 30 {
			t.Fatalf("first 30 inputs: %d results", len(got))
		}
		kafkatest.Produce(t, tg.Brokers, in, msgs[30:]...) // arrives while the job runs
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got = kafkatest.ReadAll(t, tg.Brokers, out, 60, 10*time.Second)
		ids := map[string]bool{}
		for _, m := range got {
			for _, h := range m.Headers {
				if h.Key == kafka.HeaderRequestID {
					ids[string(h.Value)] = true
				}
			}
		}
		if len(ids) != 60 {
			t.Fatalf("results for %d distinct inputs, want 60 (%d records)", len(ids), len(got))
		}
		committed := kafkatest.Committed(t, tg.Brokers, group, in, 2)
		if committed[0]+committed[1] != 60 {
			t.Fatalf("committed %v, want offsets summing to 60", committed)
		}
	})
}
