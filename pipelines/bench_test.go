package pipelines

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	kgo "github.com/segmentio/kafka-go"
)

const tinySDAR = "../testdata/models/tiny-sdar"

func extractionInputs(n int) []kgo.Message {
	schema := `{"type":"object","properties":{"title":{"type":"string"},"year":{"type":"integer"}}}`
	msgs := make([]kgo.Message, n)
	for i := range msgs {
		msgs[i] = kgo.Message{Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf("Book %d was published in %d.", i, 1900+i%100)),
			Headers: []kgo.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))},
				{Key: kafka.HeaderContentType, Value: []byte("text/plain")}, {Key: kafka.HeaderSchema, Value: []byte(schema)}}}
	}
	return msgs
}

// BenchmarkExtractionRealBroker measures the extraction pipeline with the bundled tiny
// checkpoint on the real broker (DLMSTREAM_KAFKA_BROKERS; skipped without it):
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
	kafkatest.Produce(b, tg.Brokers, in, extractionInputs(n)...)
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, Options{Name: Extraction, Kafka: kafka.Config{Brokers: tg.Brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq,
		Transforms: transforms.Config{Model: tinySDAR, MaxNewTokens: 16, MaxInFlight: inFlight}}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := beam.Run(context.Background(), "prism", p); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
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
		Transforms: transforms.Config{Model: tinySDAR, MaxNewTokens: 16, MaxInFlight: inFlight},
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
	for i, m := range extractionInputs(n) {
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
