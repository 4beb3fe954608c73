// Package kafkatest holds test helpers for code that talks to Kafka: an in-process broker
// per test, the real broker named by DLMSTREAM_KAFKA_BROKERS, unique topic names,
// producing, reading a topic back, and reading a group's committed offsets.
package kafkatest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dlmstream/connectors/kafka/embedded"

	kgo "github.com/segmentio/kafka-go"
)

// EnvBrokers names the environment variable with the real broker's bootstrap address;
// .ci/run sets it after starting deploy/kafka/broker.sh.
const EnvBrokers = "DLMSTREAM_KAFKA_BROKERS"

// Target is a broker a test runs against.
type Target struct {
	Name    string // "kfake" or "kafka"
	Brokers []string
}

// Embedded starts an in-process broker with partitions per auto-created topic and
// closes it when the test ends.
func Embedded(t testing.TB, partitions int) Target {
	t.Helper()
	b, err := embedded.Start(partitions)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return Target{Name: "kfake", Brokers: b.Addrs()}
}

// Real returns the real broker from EnvBrokers, or skips the test when it is unset.
func Real(t testing.TB) Target {
	t.Helper()
	v := os.Getenv(EnvBrokers)
	if v == "" {
		t.Skipf("%s is not set: start a broker with deploy/kafka/broker.sh start and export %s=ADDR to run this integration test", EnvBrokers, EnvBrokers)
	}
	return Target{Name: "kafka", Brokers: strings.Split(v, ",")}
}

var seq atomic.Int64

// Topic returns a topic name unique to this process and test.
func Topic(t testing.TB, base string) string {
	name := strings.Map(func(r rune) rune { // Kafka allows [a-zA-Z0-9._-]
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 60 {
		name = name[:60]
	}
	return fmt.Sprintf("%s-%s-%d-%d", base, name, time.Now().UnixNano()%1e9, seq.Add(1))
}

// CreateTopic creates topic with the given number of partitions.
func CreateTopic(t testing.TB, brokers []string, topic string, partitions int) {
	t.Helper()
	cl := &kgo.Client{Addr: kgo.TCP(brokers...), Timeout: 20 * time.Second}
	resp, err := cl.CreateTopics(context.Background(), &kgo.CreateTopicsRequest{Topics: []kgo.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}}})
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if err := resp.Errors[topic]; err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	// Wait until every partition has a leader.
	deadline := time.Now().Add(20 * time.Second)
	for {
		md, err := cl.Metadata(context.Background(), &kgo.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			ok := true
			for _, p := range md.Topics[0].Partitions {
				ok = ok && p.Leader.Host != ""
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s has no leaders after 20s (last error %v)", topic, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Produce writes msgs to topic (hash-partitioned by key) and fails the test on error.
func Produce(t testing.TB, brokers []string, topic string, msgs ...kgo.Message) {
	t.Helper()
	w := &kgo.Writer{Addr: kgo.TCP(brokers...), Topic: topic, Balancer: &kgo.Hash{}, BatchSize: 500,
		BatchTimeout: time.Millisecond, RequiredAcks: kgo.RequireAll, AllowAutoTopicCreation: true}
	defer w.Close()
	for len(msgs) > 0 {
		n := min(len(msgs), 500)
		if err := w.WriteMessages(context.Background(), msgs[:n]...); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
		msgs = msgs[n:]
	}
}

// ReadAll reads every record of topic from the earliest offsets until want records
// arrived or timeout passed, and returns what it read.
func ReadAll(t testing.TB, brokers []string, topic string, want int, timeout time.Duration) []kgo.Message {
	t.Helper()
	msgs, err := ReadTopic(context.Background(), brokers, topic, want, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// ReadTopic is ReadAll for non-test code (the demo): it reads every partition of topic
// from the earliest offset up to its high watermark, again until want records arrived
// (want < 0: once, and an error when timeout passes before every partition's high
// watermark is reached) or timeout passed.
func ReadTopic(ctx context.Context, brokers []string, topic string, want int, timeout time.Duration) ([]kgo.Message, error) {
	cl := &kgo.Client{Addr: kgo.TCP(brokers...), Timeout: 20 * time.Second}
	md, err := cl.Metadata(ctx, &kgo.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	if len(md.Topics) != 1 {
		return nil, fmt.Errorf("topic %s: metadata for %d topics", topic, len(md.Topics))
	}
	if err := md.Topics[0].Error; err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	deadline := time.Now().Add(timeout)
	var out []kgo.Message
	for _, p := range md.Topics[0].Partitions {
		lo, err := cl.ListOffsets(ctx, &kgo.ListOffsetsRequest{Topics: map[string][]kgo.OffsetRequest{topic: {kgo.LastOffsetOf(p.ID)}}})
		if err != nil {
			return nil, err
		}
		fo, err := cl.ListOffsets(ctx, &kgo.ListOffsetsRequest{Topics: map[string][]kgo.OffsetRequest{topic: {kgo.FirstOffsetOf(p.ID)}}})
		if err != nil {
			return nil, err
		}
		first, end := fo.Topics[topic][0].FirstOffset, lo.Topics[topic][0].LastOffset
		if first >= end {
			continue
		}
		r := kgo.NewReader(kgo.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p.ID, MaxWait: 100 * time.Millisecond})
		if err := r.SetOffset(first); err != nil {
			return nil, err
		}
		next := first
		for {
			rctx, cancel := context.WithDeadline(ctx, deadline)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil && want < 0 {
				// Once means up to the high watermark: a read cut short by
				// the deadline would undercount, so it is an error.
				r.Close()
				return nil, fmt.Errorf("topic %s partition %d: stopped at offset %d of %d..%d: %w", topic, p.ID, next, first, end, err)
			}
			if err != nil {
				break
			}
			out = append(out, m)
			next = m.Offset + 1
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	// Later records may still be arriving when want >= 0: poll until enough or timeout.
	if want >= 0 && len(out) < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		return ReadTopic(ctx, brokers, topic, want, time.Until(deadline))
	}
	return out, nil
}

// Committed returns the group's committed offset per partition of topic (-1: none).
func Committed(t testing.TB, brokers []string, group, topic string, partitions int) map[int]int64 {
	t.Helper()
	cl := &kgo.Client{Addr: kgo.TCP(brokers...), Timeout: 20 * time.Second}
	ids := make([]int, partitions)
	for i := range ids {
		ids[i] = i
	}
	resp, err := cl.OffsetFetch(context.Background(), &kgo.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, id := range ids {
		out[id] = -1 // a group the broker does not know has no commits
	}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// The secure listener of the real broker (deploy/kafka/broker.sh env prints
// these; .ci/run exports them).
const (
	EnvSecureBrokers = "DLMSTREAM_KAFKA_SECURE_BROKERS" // SASL_SSL listener, SCRAM-SHA-512
	EnvCA            = "DLMSTREAM_KAFKA_CA"             // PEM of the CA that signed the broker
	EnvSASLUser      = "DLMSTREAM_KAFKA_SASL_USER"
	EnvSASLPassword  = "DLMSTREAM_KAFKA_SASL_PASSWORD"
)

// SecureTarget is the real broker's SASL_SSL listener and its credentials.
type SecureTarget struct {
	Brokers          []string
	CAFile           string
	User, Password   string
	PlaintextBrokers []string // the same broker's PLAINTEXT listener (creating topics)
}

// Secure returns the real broker's SASL_SSL listener from the environment, or
// skips the test when it is unset.
func Secure(t testing.TB) SecureTarget {
	t.Helper()
	plain := Real(t)
	st := SecureTarget{Brokers: strings.Split(os.Getenv(EnvSecureBrokers), ","), CAFile: os.Getenv(EnvCA),
		User: os.Getenv(EnvSASLUser), Password: os.Getenv(EnvSASLPassword), PlaintextBrokers: plain.Brokers}
	if os.Getenv(EnvSecureBrokers) == "" || st.CAFile == "" || st.User == "" || st.Password == "" {
		t.Skipf("%s, %s, %s and %s are not all set: eval \"$(deploy/kafka/broker.sh env)\" to run this integration test",
			EnvSecureBrokers, EnvCA, EnvSASLUser, EnvSASLPassword)
	}
	return st
}

// SetTopicConfig sets one configuration entry of topic (for example
// min.insync.replicas, which a fault test raises above the replica count so
// that the topic refuses writes with NOT_ENOUGH_REPLICAS, and lowers again).
func SetTopicConfig(t testing.TB, brokers []string, topic, key, value string) {
	t.Helper()
	cl := &kgo.Client{Addr: kgo.TCP(brokers...), Timeout: 20 * time.Second}
	resp, err := cl.IncrementalAlterConfigs(context.Background(), &kgo.IncrementalAlterConfigsRequest{
		Resources: []kgo.IncrementalAlterConfigsRequestResource{{ResourceType: kgo.ResourceTypeTopic, ResourceName: topic,
			Configs: []kgo.IncrementalAlterConfigsRequestConfig{{Name: key, Value: value, ConfigOperation: kgo.ConfigOperationSet}}}}})
	if err != nil {
		t.Fatalf("set %s=%s on %s: %v", key, value, topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			t.Fatalf("set %s=%s on %s: %v", key, value, topic, r.Error)
		}
	}
}
