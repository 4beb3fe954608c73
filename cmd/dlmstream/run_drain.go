//go:build !nobeam

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"dlmstream/connectors/kafka"
)

// drainContext is the job's context. The first SIGINT or SIGTERM begins a drain
// (kafka.BeginDrain): the sources read no more records, the work already read is
// finished, written and committed, and the job ends by itself. If it has not ended
// timeout after the signal, or a second signal comes, the context is canceled (the
// job is killed, as without a drain). Each step is one line on stderr. The returned
// func stops listening for signals; call it once the job has returned.
func drainContext(parent context.Context, timeout time.Duration, stderr io.Writer) (context.Context, func()) {
	return drainOnSignals(parent, timeout, kafka.BeginDrain, stderr)
}

// drainOnSignals is drainContext with the drain begun by calling begin.
func drainOnSignals(parent context.Context, timeout time.Duration, begin func(), stderr io.Writer) (context.Context, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := drainOn(parent, sigs, timeout, begin, stderr)
	return ctx, func() {
		signal.Stop(sigs)
		stop()
	}
}

// drainOn is drainOnSignals with the signals read from sigs.
func drainOn(parent context.Context, sigs <-chan os.Signal, timeout time.Duration, begin func(), stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	jobEnded := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-jobEnded:
			return
		case <-ctx.Done():
			return
		}
		start := time.Now()
		fmt.Fprintf(stderr, "dlmstream: %v: draining: no new records; finishing and committing in-flight work (at most %s; signal again to stop now)\n", sig, timeout)
		begin()
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		select {
		case again := <-sigs:
			fmt.Fprintf(stderr, "dlmstream: %v during the drain: stopping now; work not committed is read again on restart\n", again)
			cancel(fmt.Errorf("%v during the drain", again))
		case <-deadline.C:
			fmt.Fprintf(stderr, "dlmstream: drain deadline %s passed: stopping now; work not committed is read again on restart\n", timeout)
			cancel(fmt.Errorf("drain deadline %s passed", timeout))
		case <-jobEnded:
			fmt.Fprintf(stderr, "dlmstream: drained: the job ended %s after %v (deadline %s)\n", time.Since(start).Round(time.Millisecond), sig, timeout)
		case <-ctx.Done(): // the parent ended
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(jobEnded)
			<-finished
			cancel(nil)
		})
	}
}
