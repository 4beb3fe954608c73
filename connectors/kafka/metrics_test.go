package kafka

import (
	"fmt"
	"testing"

	"dlmstream/monitor"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	kgo "github.com/segmentio/kafka-go"
)

// partitionSeries collects partitionCollector's series of group as
// "name partition" -> value.
func partitionSeries(t *testing.T, group string) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	go func() { partitionCollector{}.Collect(ch); close(ch) }()
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		ls := map[string]string{}
		for _, l := range pb.GetLabel() {
			ls[l.GetName()] = l.GetValue()
		}
		if ls["group"] != group {
			continue
		}
		var name string
		switch m.Desc() {
		case consumerLagDsc:
			name = "consumer_lag"
		case fetchLagDsc:
			name = "fetch_lag"
		case committedDsc:
			name = "committed_offset"
		}
		out[name+" "+ls["partition"]] = pb.GetGauge().GetValue()
	}
	return out
}

func TestLagMetrics(t *testing.T) {
	type fetch struct{ partition, offset, hwm int }
	tests := []struct {
		name    string
		group   string
		start   int64
		fetches []fetch
		commits map[int]int64 // partition -> committed offset
		want    map[string]float64
	}{
		{"fetched, nothing committed: lag since the start", "g1", 5, []fetch{{0, 5, 10}, {0, 6, 10}}, nil,
			map[string]float64{"fetch_lag 0": 3, "consumer_lag 0": 5}},
		{"committed", "g2", 5, []fetch{{0, 5, 10}, {0, 6, 10}, {1, 5, 12}}, map[int]int64{0: 7},
			map[string]float64{"fetch_lag 0": 3, "consumer_lag 0": 3, "committed_offset 0": 7, "fetch_lag 1": 6, "consumer_lag 1": 7}},
		{"caught up", "g3", 0, []fetch{{0, 0, 2}, {0, 1, 2}}, map[int]int64{0: 2},
			map[string]float64{"fetch_lag 0": 0, "consumer_lag 0": 0, "committed_offset 0": 2}},
		{"high watermark moved past the commit", "g4", 0, []fetch{{0, 0, 1}, {0, 1, 9}}, map[int]int64{0: 1},
			map[string]float64{"fetch_lag 0": 7, "consumer_lag 0": 8, "committed_offset 0": 1}},
		{"commit of a partition not fetched here", "g5", 0, nil, map[int]int64{3: 4},
			map[string]float64{"committed_offset 3": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := "lag-" + tt.group
			fetched := testutil.ToFloat64(fetchedTotal.WithLabelValues(topic))
			commits := testutil.ToFloat64(commitsTotal.WithLabelValues(topic))
			for _, f := range tt.fetches {
				noteFetched(tt.group, kgo.Message{Topic: topic, Partition: f.partition, Offset: int64(f.offset), HighWaterMark: int64(f.hwm)}, tt.start)
			}
			if len(tt.commits) > 0 {
				var cs []kgo.OffsetCommit
				for p, off := range tt.commits {
					cs = append(cs, kgo.OffsetCommit{Partition: p, Offset: off})
				}
				noteCommitted(tt.group, map[string][]kgo.OffsetCommit{topic: cs})
			}
			got := partitionSeries(t, tt.group)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("series %v, want %v", got, tt.want)
			}
			if d := testutil.ToFloat64(fetchedTotal.WithLabelValues(topic)) - fetched; d != float64(len(tt.fetches)) {
				t.Errorf("fetched %v, want %d", d, len(tt.fetches))
			}
			wantCommits := 0.0
			if len(tt.commits) > 0 {
				wantCommits = 1
			}
			if d := testutil.ToFloat64(commitsTotal.WithLabelValues(topic)) - commits; d != wantCommits {
				t.Errorf("commits %v, want %v", d, wantCommits)
			}
		})
	}
}

// Reads without a group have no commits: only the fetch lag.
func TestLagWithoutGroup(t *testing.T) {
	noteFetched("", kgo.Message{Topic: "lag-nogroup", Partition: 0, Offset: 3, HighWaterMark: 10}, 0)
	got := partitionSeries(t, "")
	if got["fetch_lag 0"] != 6 || got["consumer_lag 0"] != 0 || len(got) == 0 {
		t.Errorf("series %v, want fetch_lag 0 = 6 and no consumer lag", got)
	}
	for k := range got {
		if k[:9] != "fetch_lag" {
			t.Errorf("series %q for a read without a group", k)
		}
	}
}

func TestSourceReadiness(t *testing.T) {
	t.Cleanup(monitor.ResetReadiness)
	monitor.ResetReadiness()
	c := SourceConfig{Topics: []string{"a", "b"}}
	expectReading(c)
	if ok, reason := monitor.Ready(); ok || reason != "not ready: kafka source a,b" {
		t.Errorf("declared: Ready() = %v, %q", ok, reason)
	}
	reading(c)
	if ok, reason := monitor.Ready(); !ok || reason != "ready: kafka source a,b" {
		t.Errorf("reading: Ready() = %v, %q", ok, reason)
	}
}
