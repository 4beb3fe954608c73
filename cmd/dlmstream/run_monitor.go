//go:build !nobeam

package main

import (
	"fmt"
	"io"

	"dlmstream/monitor"
	"dlmstream/monitor/enginemetrics"
)

// monitorListening, when set (by tests), is told the address the metrics
// server listens on: with --metrics-addr host:0 the port is picked then.
var monitorListening func(addr string)

// startMonitor serves the metrics and health endpoints on addr while a
// job runs (empty addr: none) and returns the func that stops them:
// /metrics (monitor.Registry: the shared engines, transforms and Kafka
// connectors of this process, Go runtime), /healthz and /readyz (the job's
// engines loaded and Kafka sources reading).
func startMonitor(addr string, stderr io.Writer) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	// The job's components declare themselves as its pipelines are built.
	monitor.ResetReadiness()
	if err := enginemetrics.Register(monitor.Registry()); err != nil {
		return nil, fmt.Errorf("run: --metrics-addr: %w", err)
	}
	srv, err := monitor.Start(addr)
	if err != nil {
		return nil, fmt.Errorf("run: --metrics-addr: %w", err)
	}
	fmt.Fprintf(stderr, "metrics on http://%s/metrics (health: /healthz, /readyz)\n", srv.Addr())
	if monitorListening != nil {
		monitorListening(srv.Addr())
	}
	return func() { srv.Close() }, nil
}
