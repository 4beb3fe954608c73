package kafka_test

import (
	"context"
	"testing"

	"dlmstream/connectors/kafka"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestSASL writes and lists offsets through an in-process broker that requires SASL,
// once per mechanism, and checks that a wrong password is refused.
func TestSASL(t *testing.T) {
	for _, mech := range []string{kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "pipeline", "secret"),
				kfake.AllowAutoTopicCreation(), kfake.SeedTopics(1, "in"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg := kafka.Config{Brokers: c.ListenAddrs(), SASLMechanism: mech, SASLUser: "pipeline", SASLPassword: "secret"}
			w, err := kafka.NewWriter(kafka.SinkConfig{Config: cfg, Topic: "in"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := w.Write(context.Background(), kafka.Envelope{Value: []byte("hello")}); err != nil {
				t.Fatalf("write with %s: %v", mech, err)
			}
			ranges, err := kafka.ListRanges(context.Background(), kafka.SourceConfig{Config: cfg, Topics: []string{"in"}, Start: kafka.StartEarliest}, true)
			if err != nil || len(ranges) != 1 || ranges[0].End != 1 {
				t.Fatalf("ranges %+v, %v", ranges, err)
			}
			bad := cfg
			bad.SASLPassword = "wrong"
			if _, err := kafka.ListRanges(context.Background(), kafka.SourceConfig{Config: bad, Topics: []string{"in"}, Start: kafka.StartEarliest}, true); err == nil {
				t.Fatal("wrong password accepted")
			}
		})
	}
}
