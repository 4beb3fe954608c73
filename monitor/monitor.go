// Package monitor is dlmstream's operations surface: the process-wide
// Prometheus registry that the pipeline packages register their metrics
// with, the readiness the job's components report, and the HTTP handler
// that serves /metrics, /healthz and /readyz (dlmstream run --metrics-addr).
//
// # Metrics
//
// Every name starts with dlmstream_ and has HELP text. Who registers what:
//   - monitor/enginemetrics: dlmstream_engine_*, read from each shared
//     engine's snapshot at scrape time, labelled by model (the checkpoint
//     directory's base name);
//   - transforms: inputs, results and dead letters by task, stage and reason;
//   - connectors/kafka: records fetched and written, offset commits,
//     committed offsets and consumer lag per group, topic and partition.
//
// The library packages (engine and below) do not import Prometheus: they
// keep plain counters and histograms that enginemetrics adapts.
//
// # Health
//
// /healthz answers 200 while the process serves HTTP. /readyz answers 200
// once every component that has declared itself (SetReady) is ready, and
// 503 with a one-line reason before: when none has, or naming the ones
// that are not. A job's components declare themselves not ready when the
// pipeline is built (an engine per model, a Kafka source per topic list)
// and ready when they can work (the engine loaded in a DoFn's Setup, the
// source's first partition reader open).
//
// The metrics and the readiness are those of this process. With the local
// runner (prism) the job runs here; on a portable runner (Flink, Dataflow)
// the workers are other processes.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var registry = newRegistry()

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Registry is the process-wide registry that /metrics serves: dlmstream's
// packages register their collectors here (with the Go runtime's and the
// process's).
func Registry() *prometheus.Registry { return registry }

// NewHandler returns the handler of /metrics (what g gathers), /healthz
// and /readyz (h's readiness).
func NewHandler(g prometheus.Gatherer, h *Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := h.Ready()
		if !ok {
			http.Error(w, reason, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, reason)
	})
	return mux
}

// Handler serves Registry and the process's readiness (SetReady).
func Handler() http.Handler { return NewHandler(registry, &health) }

// Server serves Handler on a TCP address.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Start listens on addr (host:port; port 0 picks a free one, see Addr)
// and serves Handler until Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("monitor: listen on %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// Addr is the address the server listens on (with the port Start picked).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server: requests in progress get up to 2 s to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
