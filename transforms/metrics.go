package transforms

import (
	"context"
	"path/filepath"
	"time"

	"dlmstream/monitor"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Every count is kept twice: as a Beam counter (namespace metricsNS, in
// the runner's job metrics) and in the process's Prometheus registry
// (monitor.Registry, served by --metrics-addr).
var (
	inputsTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_inputs_total",
		Help: "Inputs the transforms took, by task (transcribe, caption, extract); each ends as a result or a dead letter.",
	}, []string{"task"})
	resultsTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_results_total",
		Help: "Result records the transforms emitted to their sink, by task (final records; partial ones are in dlmstream_partial_results_total).",
	}, []string{"task"})
	partialsTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_partial_results_total",
		Help: "Partial records (captions and transcripts as they form) the transforms emitted, by task.",
	}, []string{"task"})
	deadLettersTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "dlmstream_dead_letters_total",
		Help: "Inputs sent to the dead-letter output, by task, stage (decode, engine) and reason (the dlq-reason header).",
	}, []string{"task", "stage", "reason"})
	taskSeconds = promauto.With(monitor.Registry()).NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dlmstream_task_seconds",
		Help:    "Time from handing a decoded input to the engine to its result, by task: retries while the engine is busy, queue wait and generation.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"task"})
)

func countInput(ctx context.Context, task string) {
	beam.NewCounter(metricsNS, StageDecode+".in").Inc(ctx, 1)
	inputsTotal.WithLabelValues(task).Inc()
}

func countResult(ctx context.Context, task string) {
	beam.NewCounter(metricsNS, StageEngine+".out").Inc(ctx, 1)
	resultsTotal.WithLabelValues(task).Inc()
}

func countPartial(ctx context.Context, task string) {
	beam.NewCounter(metricsNS, StageEngine+".partials").Inc(ctx, 1)
	partialsTotal.WithLabelValues(task).Inc()
}

func observeTask(ctx context.Context, task string, took time.Duration) {
	beam.NewDistribution(metricsNS, "engine.latency_ms").Update(ctx, took.Milliseconds())
	taskSeconds.WithLabelValues(task).Observe(took.Seconds())
}

func countDeadLetter(ctx context.Context, task, stage, reason string) {
	beam.NewCounter(metricsNS, stage+".dlq."+reason).Inc(ctx, 1)
	deadLettersTotal.WithLabelValues(task, stage, reason).Inc()
}

// engineComponent names the engine for model in the process's readiness
// (monitor.SetReady).
func engineComponent(model string) string { return "engine " + filepath.Base(model) }
