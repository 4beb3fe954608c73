package enginemetrics

import (
	"slices"
	"strings"
	"testing"

	"dlmstream/engine"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func fakeSnapshot(dir string) engine.Snapshot {
	return engine.Snapshot{
		Dir: dir, Waiting: 3, Running: 2, KVInUse: 4096, KVBudget: 1 << 20,
		Prefix: engine.PrefixStats{Hits: 5, Misses: 1, RowsReused: 40, Bytes: 512},
		Stats:  engine.Stats{Forwards: 10, Seqs: 25, Rows: 300, LogitRows: 80},
		OK:     4, Failed: 1, Busy: 7, Tokens: 64,
		QueueWait:        engine.Histogram{Bounds: []float64{0.01, 0.1}, Counts: []uint64{3, 1, 1}, Sum: 0.5, Count: 5},
		Request:          engine.Histogram{Bounds: []float64{0.01, 0.1}, Counts: []uint64{0, 2, 2}, Sum: 1.5, Count: 4},
		Forward:          engine.Histogram{Bounds: []float64{0.01, 0.1}, Counts: []uint64{9, 1, 0}, Sum: 0.2, Count: 10},
		TokensPerForward: engine.Histogram{Bounds: []float64{1, 4}, Counts: []uint64{0, 4, 0}, Sum: 12, Count: 4},
	}
}

func TestCollector(t *testing.T) {
	c := New(func() []engine.Snapshot { return []engine.Snapshot{fakeSnapshot("/models/tiny-sdar")} })
	tests := []struct {
		name string
		want string // the exposition of the named metric
	}{
		{"dlmstream_engine_queue_depth", `
# HELP dlmstream_engine_queue_depth Requests waiting for admission to the engine's running set.
# TYPE dlmstream_engine_queue_depth gauge
dlmstream_engine_queue_depth{model="tiny-sdar"} 3
`},
		{"dlmstream_engine_running_sequences", `
# HELP dlmstream_engine_running_sequences Sequences admitted (holding KV memory) and decoded together.
# TYPE dlmstream_engine_running_sequences gauge
dlmstream_engine_running_sequences{model="tiny-sdar"} 2
`},
		{"dlmstream_engine_kv_budget_bytes", `
# HELP dlmstream_engine_kv_budget_bytes KV cache budget in bytes, shared by running requests and the prefix cache.
# TYPE dlmstream_engine_kv_budget_bytes gauge
dlmstream_engine_kv_budget_bytes{model="tiny-sdar"} 1.048576e+06
`},
		{"dlmstream_engine_requests_total", `
# HELP dlmstream_engine_requests_total Engine requests (generations and scorings) that reached the scheduler, by outcome: ok, error (failed, cancelled, engine closed), busy (queue full; callers retry).
# TYPE dlmstream_engine_requests_total counter
dlmstream_engine_requests_total{model="tiny-sdar",outcome="busy"} 7
dlmstream_engine_requests_total{model="tiny-sdar",outcome="error"} 1
dlmstream_engine_requests_total{model="tiny-sdar",outcome="ok"} 4
`},
		{"dlmstream_engine_forwards_total", `
# HELP dlmstream_engine_forwards_total Batched forward passes the engine ran.
# TYPE dlmstream_engine_forwards_total counter
dlmstream_engine_forwards_total{model="tiny-sdar"} 10
`},
		{"dlmstream_engine_queue_wait_seconds", `
# HELP dlmstream_engine_queue_wait_seconds Time a request waited from submission to admission (KV memory reserved, decoding starts).
# TYPE dlmstream_engine_queue_wait_seconds histogram
dlmstream_engine_queue_wait_seconds_bucket{model="tiny-sdar",le="0.01"} 3
dlmstream_engine_queue_wait_seconds_bucket{model="tiny-sdar",le="0.1"} 4
dlmstream_engine_queue_wait_seconds_bucket{model="tiny-sdar",le="+Inf"} 5
dlmstream_engine_queue_wait_seconds_sum{model="tiny-sdar"} 0.5
dlmstream_engine_queue_wait_seconds_count{model="tiny-sdar"} 5
`},
		{"dlmstream_engine_request_tokens_per_forward", `
# HELP dlmstream_engine_request_tokens_per_forward A finished generation's tokens over the forwards it took part in.
# TYPE dlmstream_engine_request_tokens_per_forward histogram
dlmstream_engine_request_tokens_per_forward_bucket{model="tiny-sdar",le="1"} 0
dlmstream_engine_request_tokens_per_forward_bucket{model="tiny-sdar",le="4"} 4
dlmstream_engine_request_tokens_per_forward_bucket{model="tiny-sdar",le="+Inf"} 4
dlmstream_engine_request_tokens_per_forward_sum{model="tiny-sdar"} 12
dlmstream_engine_request_tokens_per_forward_count{model="tiny-sdar"} 4
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want), tt.name); err != nil {
				t.Error(err)
			}
		})
	}
	// Every series is there, once per engine, and passes the linter (HELP, names, units).
	if n := testutil.CollectAndCount(c); n != 20 {
		t.Errorf("%d series for one engine, want 20 (5 gauges, 11 counters, 4 histograms)", n)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorLabels(t *testing.T) {
	tests := []struct {
		name string
		dirs []string
		want []string // model labels, in order
	}{
		{"none", nil, nil},
		{"base names", []string{"/m/tiny-sdar", "testdata/models/demo-text"}, []string{"tiny-sdar", "demo-text"}},
		{"same base name: whole paths", []string{"/a/sdar", "/b/sdar", "/c/other"}, []string{"/a/sdar", "/b/sdar", "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var snaps []engine.Snapshot
			for _, d := range tt.dirs {
				snaps = append(snaps, fakeSnapshot(d))
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(New(func() []engine.Snapshot { return snaps }))
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err) // duplicate label sets would fail here
			}
			var got []string
			for _, mf := range mfs {
				if mf.GetName() != "dlmstream_engine_forwards_total" {
					continue
				}
				for _, m := range mf.GetMetric() {
					got = append(got, m.GetLabel()[0].GetValue())
				}
			}
			want := slices.Clone(tt.want)
			slices.Sort(want) // Gather sorts by label value
			if !slices.Equal(got, want) {
				t.Errorf("model labels %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		if err := Register(reg); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}
}
