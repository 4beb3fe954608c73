package transforms

import (
	"testing"

	"dlmstream/connectors/kafka"
	"dlmstream/monitor"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// A pipeline run counts its inputs, results and dead letters by reason in the
// process's Prometheus registry, and reports its engine ready.
func TestPrometheusCounts(t *testing.T) {
	registerOnce.Do(func() { RegisterGenerator("test:echo", &echoEngine{}) })
	cfg := Config{Model: "test:echo", OutputTopic: "out", DeadLetterTopic: "dlq"}
	wav := makeWAV(1, 16, 22050, 2, sine(300, 22050, 22050, 2, 0.3))
	mk := func(id string, v []byte, hs ...string) kafka.Envelope {
		e := kafka.Envelope{Value: v}.WithHeader(kafka.HeaderRequestID, id).WithHeader(kafka.HeaderContentType, "audio/wav")
		for i := 0; i+1 < len(hs); i += 2 {
			e = e.WithHeader(hs[i], hs[i+1])
		}
		return e
	}
	in := []kafka.Envelope{
		mk("a1", wav, kafka.HeaderDraftTranscript, "helo wrld"),
		mk("a2", []byte("nope")),
		mk("a3", []byte("nada")),
		mk("fail-a4", wav, kafka.HeaderDraftTranscript, "x"),
		mk("a5", wav), // a text model without a draft to correct
	}
	tests := []struct {
		name  string
		value func() float64
		delta float64
	}{
		{"inputs", func() float64 { return testutil.ToFloat64(inputsTotal.WithLabelValues(KindTranscribe)) }, 5},
		{"results", func() float64 { return testutil.ToFloat64(resultsTotal.WithLabelValues(KindTranscribe)) }, 1},
		{"decode/not-audio", func() float64 {
			return testutil.ToFloat64(deadLettersTotal.WithLabelValues(KindTranscribe, StageDecode, ReasonNotAudio))
		}, 2},
		{"engine/engine-error", func() float64 {
			return testutil.ToFloat64(deadLettersTotal.WithLabelValues(KindTranscribe, StageEngine, ReasonEngineError))
		}, 1},
		{"engine/no-asr-encoder", func() float64 {
			return testutil.ToFloat64(deadLettersTotal.WithLabelValues(KindTranscribe, StageEngine, ReasonNoASREncoder))
		}, 1},
		{"task latencies", func() float64 {
			var m dto.Metric
			if err := taskSeconds.WithLabelValues(KindTranscribe).(prometheus.Metric).Write(&m); err != nil {
				t.Fatal(err)
			}
			return float64(m.GetHistogram().GetSampleCount())
		}, 1},
	}
	before := make([]float64, len(tests))
	for i, tt := range tests {
		before[i] = tt.value()
	}
	t.Cleanup(monitor.ResetReadiness)
	monitor.ResetReadiness()
	p, s := beam.NewPipelineWithRoot()
	Transcribe(s, cfg, beam.CreateList(s, in))
	if ok, reason := monitor.Ready(); ok || reason != "not ready: engine test:echo" {
		t.Errorf("after building: Ready() = %v, %q; want the engine awaited", ok, reason)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if got := tt.value() - before[i]; got != tt.delta {
			t.Errorf("%s: counted %v, want %v", tt.name, got, tt.delta)
		}
	}
	if ok, reason := monitor.Ready(); !ok {
		t.Errorf("after the run: Ready() = %v, %q; want the engine ready", ok, reason)
	}
}
