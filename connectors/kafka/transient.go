package kafka

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"dlmstream/monitor"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	kgo "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// transient reports whether err is one a broker restart, a leader move or a
// network partition gives, which the same request can outlive: the
// connection ended or timed out (EOF, reset, refused, broken pipe, a
// deadline), or Kafka answered with an error it marks temporary (not
// leader, leader not available, request timed out, coordinator loading,
// unknown topic while it is created, ...), or kafka-go's own metadata had no
// leader, partition or topic for the record yet (as after a broker restart,
// until the controller has elected leaders again). Everything else (authentication,
// authorization, a record too large, a bad request) is not, and fails the
// bundle so the runner and the user see it.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var werrs kgo.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil && !transient(e) {
				return false
			}
		}
		return true
	}
	var ke kgo.Error
	if errors.As(err, &ke) {
		return ke.Temporary()
	}
	if errors.Is(err, protocol.ErrNoLeader) || errors.Is(err, protocol.ErrNoPartition) || errors.Is(err, protocol.ErrNoTopic) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) // timeouts and other network-level errors
}

var errorsTotal = promauto.With(monitor.Registry()).NewCounterVec(prometheus.CounterOpts{
	Name: "dlmstream_kafka_errors_total",
	Help: "Failed Kafka requests the connectors retried or gave up on, by operation (fetch, write, commit), topic and whether they were transient (retried).",
}, []string{"op", "topic", "transient"})

// errLog rate-limits the warning lines of a fault that repeats: the first
// failure of an operation on a topic, then at most one every 10 s.
var errLog sync.Map // op + "\x00" + topic -> time.Time of the last line

// noteError counts a failed request in the metrics and logs it (rate-limited).
func noteError(op, topic string, err error) {
	tr := transient(err)
	label := "false"
	if tr {
		label = "true"
	}
	errorsTotal.WithLabelValues(op, topic, label).Inc()
	key := op + "\x00" + topic
	now := time.Now()
	if last, ok := errLog.Load(key); ok && now.Sub(last.(time.Time)) < 10*time.Second {
		return
	}
	errLog.Store(key, now)
	if tr {
		slog.Warn("kafka: retrying after a transient error", "op", op, "topic", topic, "err", err)
	} else {
		slog.Error("kafka: request failed", "op", op, "topic", topic, "err", err)
	}
}

// backoff waits d (doubled for the next call, up to limit), or until ctx ends.
func backoff(ctx context.Context, d *time.Duration, limit time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(*d):
	}
	*d = min(2**d, limit)
	return nil
}
