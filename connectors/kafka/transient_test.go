package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	kgo "github.com/segmentio/kafka-go"
)

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"EOF", fmt.Errorf("kafka: read t/0 at 5: %w", io.EOF), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"broken pipe", syscall.EPIPE, true},
		{"closed", net.ErrClosed, true},
		{"deadline", context.DeadlineExceeded, true},
		{"not leader", kgo.NotLeaderForPartition, true},
		{"leader not available", kgo.LeaderNotAvailable, true},
		{"request timed out", kgo.RequestTimedOut, true},
		{"unknown topic (auto-created)", kgo.UnknownTopicOrPartition, true},
		{"coordinator loading", kgo.GroupCoordinatorNotAvailable, true},
		{"SASL failed", kgo.SASLAuthenticationFailed, false},
		{"topic authorization", kgo.TopicAuthorizationFailed, false},
		{"record too large", kgo.MessageSizeTooLarge, false},
		{"write errors, all transient", kgo.WriteErrors{nil, kgo.NotLeaderForPartition, io.EOF}, true},
		{"write errors, one permanent", kgo.WriteErrors{kgo.NotLeaderForPartition, kgo.MessageSizeTooLarge}, false},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("kafka: envelope has no destination topic"), false},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("%s: transient(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}
