//go:build !nobeam

package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// drainContext is the job's context: SIGINT or SIGTERM end it (timeout is
// the drain deadline).
func drainContext(parent context.Context, timeout time.Duration, stderr io.Writer) (context.Context, func()) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}
