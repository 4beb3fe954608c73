//go:build !nobeam

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
)

// TestRunSecure runs `dlmstream run --pipeline extraction` from and to the
// real broker's SASL_SSL listener (SCRAM-SHA-512, the test CA), the password
// from $DLMSTREAM_SASL_PASSWORD as a deployment passes it; then with a wrong
// password, which is refused before the job is built, in one line that does
// not carry the password, and nothing of the password reaches the logs.
func TestRunSecure(t *testing.T) {
	st := kafkatest.Secure(t)
	in, out, dlq, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, st.PlaintextBrokers, topic, 2)
	}
	cfg := kafka.Config{Brokers: st.Brokers, TLS: true, TLSCAFile: st.CAFile,
		SASLMechanism: kafka.SASLScramSHA512, SASLUser: st.User, SASLPassword: st.Password}
	inputs, _, err := demoInputs(demoSchemas, demoMediaSchemas, demoClips, demoScenes)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kafka.NewWriter(kafka.SinkConfig{Config: cfg, Topic: in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range demoTextsOnly(inputs) { // four texts with schemas, one with a broken schema
		if err := w.Write(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	args := func() []string {
		return []string{"--pipeline", "extraction", "--brokers", strings.Join(st.Brokers, ","),
			"--tls", "--tls-ca", st.CAFile, "--sasl-mechanism", kafka.SASLScramSHA512, "--sasl-user", st.User,
			"--input-topics", in, "--output-topic", out, "--dlq-topic", dlq, "--group", group,
			"--model", demoTextModel, "-v"}
	}
	t.Setenv("DLMSTREAM_SASL_PASSWORD", st.Password)
	var stdout, stderr bytes.Buffer
	if err := runRun(args(), &stdout, &stderr); err != nil {
		t.Fatalf("run over SASL_SSL: %v\n%s", err, stderr.String())
	}
	results, err := kafka.ReadTopic(context.Background(), cfg, out, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := kafka.ReadTopic(context.Background(), cfg, dlq, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 || len(dead) != 1 {
		t.Fatalf("%d results and %d dead letters over SASL_SSL, want 4 and 1", len(results), len(dead))
	}
	logs := stdout.String() + stderr.String()
	for _, e := range dead {
		logs += string(e.Value)
		for _, h := range e.Headers {
			logs += h.Key + "=" + string(h.Value)
		}
	}
	if strings.Contains(logs, st.Password) {
		t.Error("the password is in the run's output, logs or dead letters")
	}

	t.Setenv("DLMSTREAM_SASL_PASSWORD", "wrong-"+st.Password)
	stdout.Reset()
	stderr.Reset()
	start := time.Now()
	err = runRun(args(), &stdout, &stderr)
	if err == nil {
		t.Fatal("a wrong password ran the job")
	}
	msg := err.Error()
	if !strings.Contains(msg, "SASL Authentication Failed") || strings.Contains(msg, "\n") ||
		strings.Contains(msg+stdout.String()+stderr.String(), st.Password) {
		t.Errorf("wrong password: %q, want one line naming the SASL failure, without the password", msg)
	}
	if strings.Contains(stderr.String(), "job failed") {
		t.Errorf("the job was built and failed instead of being refused:\n%s", stderr.String())
	}
	t.Logf("wrong password refused in %s: %s", time.Since(start).Round(time.Millisecond), msg)
}
