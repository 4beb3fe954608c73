package kafka_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// TestSecureBroker runs the connectors against the real broker's SASL_SSL
// listener (deploy/kafka/broker.sh: a throwaway CA, SCRAM-SHA-512): the
// writer, a bounded read, a prism pipeline that commits, and a read back,
// all over TLS with SCRAM. Then each misconfiguration a user makes fails
// with an error that says which (authentication, certificate, protocol),
// within a bound, and never carries the password.
func TestSecureBroker(t *testing.T) {
	st := kafkatest.Secure(t)
	cfg := kafka.Config{Brokers: st.Brokers, TLS: true, TLSCAFile: st.CAFile,
		SASLMechanism: kafka.SASLScramSHA512, SASLUser: st.User, SASLPassword: st.Password}
	in, out, group := kafkatest.Topic(t, "sin"), kafkatest.Topic(t, "sout"), kafkatest.Topic(t, "sg")
	kafkatest.CreateTopic(t, st.PlaintextBrokers, in, 2)
	kafkatest.CreateTopic(t, st.PlaintextBrokers, out, 2)

	ctx := context.Background()
	w, err := kafka.NewWriter(kafka.SinkConfig{Config: cfg, Topic: in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		e := kafka.Envelope{Key: []byte("k" + strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i)),
			Headers: []kafka.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))}}}
		if err := w.Write(ctx, e); err != nil {
			t.Fatalf("write over SASL_SSL: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	p, s := beam.NewPipelineWithRoot()
	src := kafka.ReadBounded(s, kafka.SourceConfig{Config: cfg, Topics: []string{in}, Group: group,
		Start: kafka.StartCommitted, IdleTimeout: 5 * time.Second})
	kafka.Write(s, kafka.SinkConfig{Config: cfg, Topic: out, Commit: true}, beam.ParDo(s, &echoFn{}, src))
	if err := ptest.Run(p); err != nil {
		t.Fatalf("pipeline over SASL_SSL: %v", err)
	}
	got, err := kafka.ReadTopic(ctx, cfg, out, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if !strings.HasPrefix(string(e.Value), "echo:v") {
			t.Fatalf("result %q", e.Value)
		}
		seen[e.Header(kafka.HeaderRequestID)] = true
	}
	if len(got) != n || len(seen) != n {
		t.Fatalf("%d results for %d request ids over SASL_SSL, want %d", len(got), len(seen), n)
	}
	var sum int64
	for _, off := range kafkatest.Committed(t, st.PlaintextBrokers, group, in, 2) {
		sum += off
	}
	if sum != n {
		t.Fatalf("committed offsets sum to %d, want %d", sum, n)
	}

	wrongPassword := cfg
	wrongPassword.SASLPassword = "not-" + st.Password
	unknownUser := cfg
	unknownUser.SASLUser = "nobody"
	noCA := cfg
	noCA.TLSCAFile = "" // the system roots do not know the test CA
	noTLS := cfg
	noTLS.TLS, noTLS.TLSCAFile = false, ""
	wrongMech := cfg
	wrongMech.SASLMechanism = kafka.SASLScramSHA256 // the listener takes SCRAM-SHA-512 only
	for _, c := range []struct {
		name string
		cfg  kafka.Config
		want []string // any of these, case-insensitive
	}{
		{"wrong password", wrongPassword, []string{"sasl authentication failed", "authentication failed"}},
		{"unknown user", unknownUser, []string{"sasl authentication failed", "authentication failed"}},
		{"no CA", noCA, []string{"certificate signed by unknown authority"}},
		{"no TLS", noTLS, []string{"eof", "connection reset", "tls", "unexpected"}},
		{"SCRAM-SHA-256", wrongMech, []string{"unsupported sasl mechanism", "sasl"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			start := time.Now()
			_, err := kafka.ListRanges(ctx, kafka.SourceConfig{Config: c.cfg, Topics: []string{in}, Start: kafka.StartEarliest}, true)
			took := time.Since(start)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("no answer within a minute: %v", err)
			}
			msg := strings.ToLower(err.Error())
			if !containsAny(msg, c.want) {
				t.Errorf("error %q names none of %q", err, c.want)
			}
			if strings.Contains(err.Error(), st.Password) || strings.Contains(err.Error(), c.cfg.SASLPassword) {
				t.Errorf("the error carries the password: %v", err)
			}
			t.Logf("%s: refused in %s: %v", c.name, took.Round(time.Millisecond), err)
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestPing: the check a job runs before it is built, on the real broker's
// secure listener: good settings pass, each misconfiguration is one line
// naming the brokers, the user and what failed, without the password.
func TestPing(t *testing.T) {
	st := kafkatest.Secure(t)
	in := kafkatest.Topic(t, "ping")
	kafkatest.CreateTopic(t, st.PlaintextBrokers, in, 1)
	good := kafka.Config{Brokers: st.Brokers, TLS: true, TLSCAFile: st.CAFile,
		SASLMechanism: kafka.SASLScramSHA512, SASLUser: st.User, SASLPassword: st.Password}
	if err := kafka.Ping(context.Background(), good, in); err != nil {
		t.Fatalf("ping: %v", err)
	}
	bad := good
	bad.SASLPassword = "hunter2-" + st.Password
	err := kafka.Ping(context.Background(), bad, in)
	if err == nil {
		t.Fatal("wrong password: no error")
	}
	want := "kafka " + strings.Join(st.Brokers, ",") + ` (SCRAM-SHA-512 as "` + st.User + `"): [58] SASL Authentication Failed`
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("ping error %q, want one line starting %q without the password", err, want)
	}
	missing := kafkatest.Topic(t, "absent")
	if err := kafka.Ping(context.Background(), kafka.Config{Brokers: st.PlaintextBrokers}, missing); err == nil || !strings.Contains(err.Error(), "topic "+missing) {
		t.Errorf("missing input topic: %v", err)
	} else {
		t.Logf("missing input topic: %v", err)
	}
}
