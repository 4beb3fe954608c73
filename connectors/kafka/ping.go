package kafka

import (
	"context"
	"fmt"
	"strings"

	kgo "github.com/segmentio/kafka-go"
)

// Ping checks that c reaches the cluster before a job is built on it: one
// Metadata request for topics through the configured TLS and SASL, bounded
// by the dial timeout. Its error is one line naming the brokers and what
// failed (authentication, certificate, protocol, a missing topic), instead
// of a worker's stack of Beam errors after the job has started; it never
// carries the password.
func Ping(ctx context.Context, c Config, topics ...string) error {
	if err := c.Validate(); err != nil {
		return err
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.dialTimeout())
	defer cancel()
	md, err := cl.Metadata(ctx, &kgo.MetadataRequest{Topics: topics})
	where := "kafka " + strings.Join(c.Brokers, ",")
	if c.SASLMechanism != SASLNone {
		where += fmt.Sprintf(" (%s as %q)", c.SASLMechanism, c.SASLUser)
	}
	if err != nil {
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "kafka.(*Client).Metadata: "), "kafka: metadata: ")
		if ctx.Err() != nil {
			msg = fmt.Sprintf("no answer within %s: %s", c.dialTimeout(), msg)
		}
		return fmt.Errorf("%s: %s", where, strings.ReplaceAll(msg, "\n", " "))
	}
	for _, t := range md.Topics {
		if t.Error != nil {
			return fmt.Errorf("%s: topic %s: %v", where, t.Name, t.Error)
		}
	}
	return nil
}
