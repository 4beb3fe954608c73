package kafka

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/kafka/kafkatest"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	kgo "github.com/segmentio/kafka-go"
)

func init() {
	register.DoFn2x0[Envelope, func(Envelope)](&slowEchoFn{})
}

// slowEchoFn turns each input into a result after 10ms, so that a job is still
// reading when the test begins the drain.
type slowEchoFn struct{}

func (slowEchoFn) ProcessElement(e Envelope, emit func(Envelope)) {
	time.Sleep(10 * time.Millisecond)
	emit(e.Result("", append([]byte("echo:"), e.Value...)))
}

// TestDrain begins a drain while a job reads (unbounded, and bounded): the job ends by
// itself, and what it wrote is exactly what it committed, a prefix of each partition.
func TestDrain(t *testing.T) {
	defer processDrain.Store(newDrainSignal()) // the signal is process-wide: the other tests read on
	for _, streaming := range []bool{true, false} {
		for _, target := range []string{"kfake", "kafka"} {
			t.Run(target+"/streaming="+strconv.FormatBool(streaming), func(t *testing.T) {
				processDrain.Store(newDrainSignal())
				tg := kafkatest.Real
				if target == "kfake" {
					tg = func(t testing.TB) kafkatest.Target { return kafkatest.Embedded(t, 2) }
				}
				drainTest(t, tg(t), streaming)
			})
		}
	}
}

func drainTest(t *testing.T, tg kafkatest.Target, streaming bool) {
	const n = 400
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "g")
	kafkatest.CreateTopic(t, tg.Brokers, in, 2)
	kafkatest.CreateTopic(t, tg.Brokers, out, 2)
	msgs := make([]kgo.Message, n)
	for i := range msgs {
		msgs[i] = kgo.Message{Key: []byte("k" + strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i)),
			Headers: []kgo.Header{{Key: HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))}}}
	}
	kafkatest.Produce(t, tg.Brokers, in, msgs...)

	p, s := beam.NewPipelineWithRoot()
	cfg := SourceConfig{Config: Config{Brokers: tg.Brokers}, Topics: []string{in}, Group: group, Start: StartCommitted,
		MaxWait: 100 * time.Millisecond, PollFor: 300 * time.Millisecond}
	var src beam.PCollection
	if streaming {
		src = ReadUnbounded(s, cfg)
	} else {
		src = ReadBounded(s, cfg)
	}
	Write(s, SinkConfig{Config: Config{Brokers: tg.Brokers}, Topic: out, Commit: true, BatchSize: 10},
		beam.ParDo(s, &slowEchoFn{}, src))
	done := make(chan error, 1)
	go func() { _, err := beam.Run(context.Background(), "prism", p); done <- err }()
	if got := kafkatest.ReadAll(t, tg.Brokers, out, 20, 2*time.Minute); len(got) < 20 {
		t.Fatalf("%d results before the drain, want 20", len(got))
	}
	BeginDrain()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("job after the drain: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("job still running 2 minutes after the drain began")
	}

	committed := kafkatest.Committed(t, tg.Brokers, group, in, 2)
	results := kafkatest.ReadAll(t, tg.Brokers, out, -1, 10*time.Second)
	ids := map[string]bool{}
	beyond := 0
	for _, m := range results {
		for _, h := range m.Headers {
			switch h.Key {
			case HeaderRequestID:
				ids[string(h.Value)] = true
			case HeaderSource: // topic/partition/offset
				f := strings.Split(string(h.Value), "/")
				p, _ := strconv.Atoi(f[len(f)-2])
				if off, _ := strconv.ParseInt(f[len(f)-1], 10, 64); off >= committed[p] {
					beyond++
				}
			}
		}
	}
	sum := max(committed[0], 0) + max(committed[1], 0)
	t.Logf("%s: %d inputs, %d results (%d distinct, %d beyond the commit), committed %v", tg.Name, n, len(results), len(ids), beyond, committed)
	if len(results) != len(ids) || beyond != 0 || int64(len(ids)) != sum {
		t.Fatalf("%d results for %d inputs, %d beyond the commit; committed %v", len(results), len(ids), beyond, committed)
	}
	if sum >= n {
		t.Fatalf("the job read all %d inputs: the drain came too late to test", n)
	}
}
