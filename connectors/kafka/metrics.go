package kafka

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"dlmstream/monitor"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	kgo "github.com/segmentio/kafka-go"
)

// Prometheus metrics of the source and the sink, in the process's registry
// (monitor.Registry).
//
// Lag is computed from what this process already knows, with no request
// to the broker: every fetched record carries its partition's high
// watermark (kafka-go's Message.HighWaterMark, from the fetch response),
// the source keeps the last one per partition, and the sinks keep the
// offsets they commit. At scrape time:
//
//	dlmstream_kafka_consumer_lag = high watermark - committed offset
//	dlmstream_kafka_fetch_lag    = high watermark - next offset to fetch
//
// The committed offset is the last this process committed for the group,
// or, before its first commit, the offset the read started from (the
// group's committed offset with start=committed). The high watermark is
// as of the last fetch: records produced since then show up with the next
// fetch (an unbounded read polls at least every max_wait). Consumer lag
// counts the records in the pipeline (fetched, not yet written and
// committed) plus the ones not fetched yet; fetch lag only the latter.
var (
	fetchedTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_kafka_records_fetched_total",
		Help: "Records the Kafka source fetched, by topic.",
	}, []string{"topic"})
	writtenTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_kafka_records_written_total",
		Help: "Records the Kafka sink wrote (acknowledged by all in-sync replicas), by topic: results and dead letters.",
	}, []string{"topic"})
	commitsTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_kafka_commits_total",
		Help: "Offset commits the Kafka sink made, by input topic: one per commit request that moved some of the topic's partitions.",
	}, []string{"topic"})
)

var (
	partLabels     = []string{"group", "topic", "partition"}
	consumerLagDsc = prometheus.NewDesc("dlmstream_kafka_consumer_lag",
		"Records of a partition not yet committed by the consumer group: its high watermark at the last fetch minus the offset this process last committed (or started from).", partLabels, nil)
	fetchLagDsc = prometheus.NewDesc("dlmstream_kafka_fetch_lag",
		"Records of a partition the source has not fetched yet: its high watermark at the last fetch minus the next offset to fetch.", partLabels, nil)
	committedDsc = prometheus.NewDesc("dlmstream_kafka_committed_offset",
		"The offset this process last committed for a group's partition (the next offset to consume).", partLabels, nil)
)

func init() { monitor.Registry().MustRegister(partitionCollector{}) }

// partKeyM names a partition read for a group ("" for reads without one).
type partKeyM struct {
	group, topic string
	partition    int
}

// partMeter is what the process knows of one partition: the high
// watermark and next offset of the last fetch, the offset the read started
// from and the last committed one; -1: not yet.
type partMeter struct {
	hwm, next, start, committed atomic.Int64
	fetched                     prometheus.Counter
}

var partMeters sync.Map // partKeyM -> *partMeter

func meterOf(group, topic string, partition int) *partMeter {
	k := partKeyM{group, topic, partition}
	if m, ok := partMeters.Load(k); ok {
		return m.(*partMeter)
	}
	m := &partMeter{fetched: fetchedTotal.WithLabelValues(topic)}
	m.hwm.Store(-1)
	m.next.Store(-1)
	m.start.Store(-1)
	m.committed.Store(-1)
	got, _ := partMeters.LoadOrStore(k, m)
	return got.(*partMeter)
}

// noteFetched records a record fetched by a read for group that started at
// offset start: the partition's high watermark and the next offset.
func noteFetched(group string, m kgo.Message, start int64) {
	pm := meterOf(group, m.Topic, m.Partition)
	pm.fetched.Inc()
	pm.start.CompareAndSwap(-1, start)
	pm.next.Store(m.Offset + 1)
	pm.hwm.Store(m.HighWaterMark)
}

// noteCommitted records a commit request that committed topics for group.
func noteCommitted(group string, topics map[string][]kgo.OffsetCommit) {
	for topic, cs := range topics {
		if len(cs) == 0 {
			continue
		}
		commitsTotal.WithLabelValues(topic).Inc()
		for _, c := range cs {
			meterOf(group, topic, c.Partition).committed.Store(c.Offset)
		}
	}
}

// noteWritten records records the sink wrote.
func noteWritten(msgs []kgo.Message) {
	for _, m := range msgs {
		writtenTotal.WithLabelValues(m.Topic).Inc()
	}
}

// sourceComponent names a source in the process's readiness (monitor.SetReady).
func sourceComponent(c SourceConfig) string { return "kafka source " + strings.Join(c.Topics, ",") }

// expectReading declares c's source not ready until it reads (at pipeline construction).
func expectReading(c SourceConfig) { monitor.SetReady(sourceComponent(c), false) }

// reading reports c's source ready: a partition reader is open.
func reading(c SourceConfig) { monitor.SetReady(sourceComponent(c), true) }

// partitionCollector reports lag and committed offsets at scrape time.
type partitionCollector struct{}

func (partitionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- consumerLagDsc
	ch <- fetchLagDsc
	ch <- committedDsc
}

func (partitionCollector) Collect(ch chan<- prometheus.Metric) {
	partMeters.Range(func(k, v any) bool {
		key, m := k.(partKeyM), v.(*partMeter)
		ls := []string{key.group, key.topic, strconv.Itoa(key.partition)}
		hwm, next, committed := m.hwm.Load(), m.next.Load(), m.committed.Load()
		if hwm >= 0 && next >= 0 {
			ch <- prometheus.MustNewConstMetric(fetchLagDsc, prometheus.GaugeValue, float64(max(hwm-next, 0)), ls...)
		}
		if key.group == "" {
			return true
		}
		if committed >= 0 {
			ch <- prometheus.MustNewConstMetric(committedDsc, prometheus.GaugeValue, float64(committed), ls...)
		}
		if base := committed; hwm >= 0 {
			if base < 0 {
				base = m.start.Load() // no commit yet: everything since the start is lag
			}
			if base >= 0 {
				ch <- prometheus.MustNewConstMetric(consumerLagDsc, prometheus.GaugeValue, float64(max(hwm-base, 0)), ls...)
			}
		}
		return true
	})
}
