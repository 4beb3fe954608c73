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
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/produce"
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
		// kafka-go's client-side errors while its metadata lags a restart,
		// wrapped as Client.Produce returns them.
		{"no leader yet", fmt.Errorf("kafka.(*Client).Produce: %w", produce.NewError(protocol.NewErrNoLeader("out", 2))), true},
		{"no partition yet", fmt.Errorf("kafka.(*Client).Produce: %w", produce.NewError(protocol.NewErrNoPartition("out", 2))), true},
		{"no topic yet", fmt.Errorf("kafka.(*Client).Produce: %w", protocol.NewErrNoTopic("out")), true},
		{"write errors, no leader", kgo.WriteErrors{fmt.Errorf("kafka.(*Client).Produce: %w", produce.NewError(protocol.NewErrNoLeader("out", 2))), nil}, true},
		{"empty record set", protocol.ErrNoRecord, false},
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

// TestWriteErrorOneLine: a batch's per-record errors are summarised once
// each, with the topic, and the cause stays reachable.
func TestWriteErrorOneLine(t *testing.T) {
	werrs := kgo.WriteErrors{kgo.MessageSizeTooLarge, nil, kgo.MessageSizeTooLarge, kgo.NotEnoughReplicas}
	err := error(&writeError{topic: "dlq", err: werrs})
	got := err.Error()
	want := "kafka: write to dlq: 3 of 4 records failed: 2 x " + kgo.MessageSizeTooLarge.Error() + "; 1 x " + kgo.NotEnoughReplicas.Error()
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	var back kgo.WriteErrors
	if !errors.As(err, &back) || back[0] != kgo.MessageSizeTooLarge || transient(err) {
		t.Errorf("cause lost or judged transient: %v", err)
	}
	if got := failedTopic([]kgo.Message{{Topic: "out"}, {Topic: "dlq"}}, kgo.WriteErrors{nil, kgo.MessageSizeTooLarge}); got != "dlq" {
		t.Errorf("failed topic = %s, want dlq", got)
	}
	if got := (&writeError{topic: "out", err: io.EOF}).Error(); got != "kafka: write to out: EOF" {
		t.Errorf("plain error: %q", got)
	}
}
