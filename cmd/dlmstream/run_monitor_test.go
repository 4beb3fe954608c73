//go:build !nobeam

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/monitor"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	kgo "github.com/segmentio/kafka-go"
)

// series flattens an exposition (text format) into `name{label="v",...}` -> value;
// a histogram contributes its _count and _sum.
func series(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+`"`+l.GetValue()+`"`)
			}
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count{"+strings.Join(ls, ",")+"}"] = float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum{"+strings.Join(ls, ",")+"}"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// gathered is series of the process registry, read without HTTP.
func gathered(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := monitor.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return series(t, &b)
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestRunMetrics runs a streaming extraction job with --metrics-addr on an
// in-process broker, scrapes /readyz and /metrics while it runs, and checks the
// counts the job left in the registry against what it was given.
func TestRunMetrics(t *testing.T) {
	tg := kafkatest.Embedded(t, 2)
	in, out, dlq, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, tg.Brokers, topic, 2)
	}
	inputs, _, err := demoInputs(demoSchemas, demoMediaSchemas, demoClips, demoScenes)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kgo.Message
	for _, e := range demoTextsOnly(inputs) { // four texts with schemas, one with a broken schema
		msgs = append(msgs, toMessage(e))
	}
	kafkatest.Produce(t, tg.Brokers, in, msgs...)

	addrc := make(chan string, 1)
	monitorListening = func(addr string) { addrc <- addr }
	t.Cleanup(func() { monitorListening = nil })
	before := gathered(t)
	errc := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		errc <- runRun([]string{"--pipeline", "extraction", "--streaming", "--stop-after-idle", "3s",
			"--brokers", strings.Join(tg.Brokers, ","), "--input-topics", in, "--output-topic", out, "--dlq-topic", dlq,
			"--group", group, "--start", "earliest", "--model", tinySDAR, "--max-new", "4",
			"--metrics-addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("run ended before serving metrics: %v\n%s", err, stderr.String())
	}

	// While the job runs: poll until /readyz has answered 200 and a scrape shows
	// the engine working and the bad input dead-lettered.
	model := `model="tiny-sdar"`
	dlqKey := `dlmstream_dead_letters_total{reason="invalid-schema",stage="decode",task="extract"}`
	tokensKey := "dlmstream_engine_generated_tokens_total{" + model + "}"
	var statuses []string
	var live map[string]float64
	ready, ran := false, false
	var runErr error
	for !ready || live == nil {
		select {
		case runErr = <-errc:
			ran = true
		default:
		}
		if ran {
			break
		}
		code, body, err := get("http://" + addr + "/readyz")
		if err == nil {
			if len(statuses) == 0 || statuses[len(statuses)-1] != body {
				statuses = append(statuses, body)
			}
			ready = ready || code == http.StatusOK
		}
		if code, body, err := get("http://" + addr + "/metrics"); err == nil && code == http.StatusOK {
			s := series(t, strings.NewReader(body))
			if s[tokensKey] > before[tokensKey] && s[dlqKey] > before[dlqKey] {
				live = s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !ran {
		runErr = <-errc
	}
	if runErr != nil {
		t.Fatalf("run: %v\n%s", runErr, stderr.String())
	}
	if !ready || live == nil {
		t.Fatalf("the job ended before a scrape saw it ready (readyz said %q) and working (%v)", statuses, live != nil)
	}
	if !strings.HasPrefix(statuses[len(statuses)-1], "ready: engine tiny-sdar, kafka source "+in) {
		t.Errorf("/readyz said %q", statuses)
	}
	if !strings.Contains(stderr.String(), "metrics on http://"+addr+"/metrics") {
		t.Errorf("stderr does not announce the address:\n%s", stderr.String())
	}
	for _, key := range []string{
		"dlmstream_engine_forwards_total{" + model + "}", "dlmstream_engine_token_rows_total{" + model + "}",
		"dlmstream_engine_kv_budget_bytes{" + model + "}", "dlmstream_engine_forward_seconds_count{" + model + "}",
		"dlmstream_engine_queue_wait_seconds_count{" + model + "}", "dlmstream_engine_request_seconds_count{" + model + "}",
	} {
		if live[key] <= 0 {
			t.Errorf("scraped %s = %v, want > 0", key, live[key])
		}
	}
	if _, _, err := get("http://" + addr + "/healthz"); err == nil {
		t.Error("the metrics server still answers after the run")
	}
	var shown []string // the scrape, for the log: counters and gauges
	for key, v := range live {
		if strings.HasPrefix(key, "dlmstream_") && !strings.Contains(key, "_bucket{") {
			shown = append(shown, fmt.Sprintf("%s %g", key, v))
		}
	}
	sort.Strings(shown)
	t.Logf("scrape during the run (%d dlmstream series):\n  %s", len(shown), strings.Join(shown, "\n  "))

	// After the job: exact counts of what it did.
	after := gathered(t)
	delta := func(key string) float64 { return after[key] - before[key] }
	for _, tt := range []struct {
		key  string
		want float64
	}{
		{`dlmstream_inputs_total{task="extract"}`, 5},
		{`dlmstream_results_total{task="extract"}`, 4},
		{dlqKey, 1},
		{`dlmstream_task_seconds_count{task="extract"}`, 4},
		{`dlmstream_kafka_records_fetched_total{topic="` + in + `"}`, 5},
		{`dlmstream_kafka_records_written_total{topic="` + out + `"}`, 4},
		{`dlmstream_kafka_records_written_total{topic="` + dlq + `"}`, 1},
	} {
		if got := delta(tt.key); got != tt.want {
			t.Errorf("%s grew by %v, want %v", tt.key, got, tt.want)
		}
	}
	if delta(tokensKey) <= 0 || delta("dlmstream_engine_forwards_total{"+model+"}") <= 0 {
		t.Errorf("engine tokens +%v, forwards +%v; want both > 0", delta(tokensKey), delta("dlmstream_engine_forwards_total{"+model+"}"))
	}
	if got := delta(`dlmstream_kafka_commits_total{topic="` + in + `"}`); got <= 0 {
		t.Errorf("%v commits of %s, want > 0", got, in)
	}
	lags := 0
	for key, v := range after {
		if strings.HasPrefix(key, "dlmstream_kafka_consumer_lag{") && strings.Contains(key, `group="`+group+`"`) {
			lags++
			if v != 0 {
				t.Errorf("%s = %v after the job committed everything, want 0", key, v)
			}
		}
	}
	if lags == 0 {
		t.Errorf("no consumer lag series for group %s", group)
	}
}

func TestStartMonitor(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name    string
		addr    string
		wantErr string // "" for no error
	}{
		{"off", "", ""},
		{"free port", "127.0.0.1:0", ""},
		{"address in use", taken.Addr().String(), taken.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			stop, err := startMonitor(tt.addr, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("startMonitor(%q) = %v, want an error naming %s", tt.addr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stop()
			if tt.addr == "" && stderr.Len() != 0 {
				t.Errorf("no --metrics-addr, yet stderr says %q", stderr.String())
			}
			if tt.addr != "" && !strings.HasPrefix(stderr.String(), "metrics on http://127.0.0.1:") {
				t.Errorf("stderr %q, want the address", stderr.String())
			}
		})
	}
}
