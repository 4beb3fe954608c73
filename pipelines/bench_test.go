package pipelines

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/engine"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	kgo "github.com/segmentio/kafka-go"
)

const demoText = "../testdata/models/demo-text"

// extractionInputs are n held-out texts of the demo text checkpoint's four
// schemas (testdata/heldout/text/schemas), taken in turn, each with its
// schema in the header.
func extractionInputs(tb testing.TB, n int) []kgo.Message {
	tb.Helper()
	type source struct {
		schema []byte
		texts  []string
	}
	var srcs []source
	for _, name := range []string{"order", "person", "event", "device"} {
		dir := filepath.Join("..", "testdata", "heldout", "text", "schemas")
		schema, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		lines, err := os.ReadFile(filepath.Join(dir, name+".jsonl"))
		if err != nil {
			tb.Fatal(err)
		}
		src := source{schema: schema}
		for _, l := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
			var c struct{ Input string }
			if err := json.Unmarshal([]byte(l), &c); err != nil {
				tb.Fatal(err)
			}
			src.texts = append(src.texts, c.Input)
		}
		srcs = append(srcs, src)
	}
	msgs := make([]kgo.Message, n)
	for i := range msgs {
		src := srcs[i%len(srcs)]
		msgs[i] = kgo.Message{Key: []byte(strconv.Itoa(i)), Value: []byte(src.texts[i/len(srcs)%len(src.texts)]),
			Headers: []kgo.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))},
				{Key: kafka.HeaderContentType, Value: []byte("text/plain")}, {Key: kafka.HeaderSchema, Value: src.schema}}}
	}
	return msgs
}

// BenchmarkExtractionRealBroker measures the extraction pipeline with the demo text
// checkpoint on held-out texts of its four schemas, on the real broker (DLMSTREAM_KAFKA_BROKERS; skipped without it):
//
//   - msgs/s: a bounded job over a backlog of 200 inputs (4 partitions), job wall time
//     including prism start-up;
//   - p50/p99 end-to-end latency: a streaming job fed 10 inputs/s for 10 s; latency is
//     the result record's time minus its input record's time (both set by producers on
//     this machine).
//
// Run: go test ./pipelines -run '^$' -bench ExtractionRealBroker -benchtime 1x
//
// Sub-benchmarks compare one engine request in flight per DoFn instance with eight.
func BenchmarkExtractionRealBroker(b *testing.B) {
	tg := kafkatest.Real(b)
	for _, inFlight := range []int{1, 8} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			for b.Loop() {
				measureThroughput(b, tg, inFlight)
				measureLatency(b, tg, inFlight)
			}
		})
	}
}

func measureThroughput(b *testing.B, tg kafkatest.Target, inFlight int) {
	const n = 200
	in, out, dlq, group := kafkatest.Topic(b, "in"), kafkatest.Topic(b, "out"), kafkatest.Topic(b, "dlq"), kafkatest.Topic(b, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(b, tg.Brokers, topic, 4)
	}
	kafkatest.Produce(b, tg.Brokers, in, extractionInputs(b, n)...)
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, Options{Name: Extraction, Kafka: kafka.Config{Brokers: tg.Brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq,
		Transforms: transforms.Config{Model: demoText, MaxInFlight: inFlight}}); err != nil {
		b.Fatal(err)
	}
	e, err := engine.Shared(demoText, engine.Options{}) // the workers' engine: prism runs them in this process
	if err != nil {
		b.Fatal(err)
	}
	st0 := e.Stats()
	start := time.Now()
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if st := e.Stats(); st.Forwards > st0.Forwards {
		b.ReportMetric(float64(st.Seqs-st0.Seqs)/float64(st.Forwards-st0.Forwards), "seqs/forward")
	}
	if got := len(kafkatest.ReadAll(b, tg.Brokers, out, n, 30*time.Second)); got != n {
		b.Fatalf("%d results, want %d", got, n)
	}
	b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
}

func measureLatency(b *testing.B, tg kafkatest.Target, inFlight int) {
	const n, rate = 100, 10
	in, out, dlq, group := kafkatest.Topic(b, "in"), kafkatest.Topic(b, "out"), kafkatest.Topic(b, "dlq"), kafkatest.Topic(b, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(b, tg.Brokers, topic, 4)
	}
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, Options{Name: Extraction, Kafka: kafka.Config{Brokers: tg.Brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartEarliest, Streaming: true, OutputTopic: out, DeadLetterTopic: dlq,
		Transforms: transforms.Config{Model: demoText, MaxInFlight: inFlight},
		Source:     kafka.SourceConfig{MaxWait: 50 * time.Millisecond, PollFor: 200 * time.Millisecond, StopAfterIdle: 5 * time.Second},
		Sink:       kafka.SinkConfig{BatchSize: 1}}); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := beam.Run(context.Background(), "prism", p); done <- err }()
	defer func() { <-done }()   // the job drains and ends 5 s after the last input
	time.Sleep(2 * time.Second) // let the job start and the readers connect
	w := &kgo.Writer{Addr: kgo.TCP(tg.Brokers...), Topic: in, Balancer: &kgo.Hash{}, BatchSize: 1, RequiredAcks: kgo.RequireAll}
	defer w.Close()
	sent := map[string]time.Time{}
	for i, m := range extractionInputs(b, n) {
		m.Time = time.Now()
		sent["req-"+strconv.Itoa(i)] = m.Time
		if err := w.WriteMessages(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second / rate)
	}
	results := kafkatest.ReadAll(b, tg.Brokers, out, n, 60*time.Second)
	var lat []time.Duration
	for _, m := range results {
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderRequestID {
				if t0, ok := sent[string(h.Value)]; ok {
					lat = append(lat, m.Time.Sub(t0))
				}
			}
		}
	}
	if len(lat) == 0 {
		b.Fatal("no results")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat)), "results")
}
