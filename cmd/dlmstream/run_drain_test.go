//go:build !nobeam

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"

	kgo "github.com/segmentio/kafka-go"
)

// syncBuffer is a bytes.Buffer safe for the drain goroutine's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor fails the test when ch is not closed within a generous deadline.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s after 30s", what)
	}
}

// TestDrainOn feeds drainOn signals through a channel: the first begins the drain,
// the deadline or a second signal cancels the context, and a job that ends first
// keeps it alive.
func TestDrainOn(t *testing.T) {
	tests := []struct {
		name       string
		timeout    time.Duration
		signals    int
		wantCancel string // cause of the cancellation; empty: the job ends first
		wantLine   string
	}{
		{name: "no signal", timeout: time.Hour},
		{name: "job ends in time", timeout: time.Hour, signals: 1, wantLine: "drained: the job ended"},
		{name: "deadline", timeout: 50 * time.Millisecond, signals: 1, wantCancel: "drain deadline 50ms passed", wantLine: "drain deadline 50ms passed: stopping now"},
		{name: "second signal", timeout: time.Hour, signals: 2, wantCancel: "terminated during the drain", wantLine: "terminated during the drain: stopping now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal, 2)
			began := make(chan struct{})
			var stderr syncBuffer
			ctx, stop := drainOn(context.Background(), sigs, tt.timeout, func() { close(began) }, &stderr)
			if tt.signals > 0 {
				sigs <- syscall.SIGTERM
				waitFor(t, began, "drain")
				if !strings.Contains(stderr.String(), "terminated: draining") {
					t.Errorf("stderr %q lacks the drain line", stderr.String())
				}
			}
			if tt.signals > 1 {
				sigs <- syscall.SIGTERM
			}
			if tt.wantCancel != "" {
				waitFor(t, ctx.Done(), "cancellation")
				if got := context.Cause(ctx).Error(); got != tt.wantCancel {
					t.Errorf("cause %q, want %q", got, tt.wantCancel)
				}
			} else if ctx.Err() != nil {
				t.Fatalf("context ended before the job: %v", context.Cause(ctx))
			}
			stop()
			stop() // a second call does nothing
			if ctx.Err() == nil {
				t.Error("context still live after stop")
			}
			select {
			case <-began:
				if tt.signals == 0 {
					t.Error("drain began without a signal")
				}
			default:
				if tt.signals > 0 {
					t.Error("no drain")
				}
			}
			lines := strings.Count(stderr.String(), "\n")
			if want := min(tt.signals, 1) * 2; lines != want {
				t.Errorf("stderr has %d lines, want %d:\n%s", lines, want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantLine) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantLine)
			}
		})
	}
}

// TestDrainOnSignals sends SIGTERM and then SIGINT to this process: the first begins
// the drain, the second cancels the context (neither kills the test).
func TestDrainOnSignals(t *testing.T) {
	began := make(chan struct{})
	var stderr syncBuffer
	ctx, stop := drainOnSignals(context.Background(), time.Hour, func() { close(began) }, &stderr)
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, began, "drain on SIGTERM")
	if ctx.Err() != nil {
		t.Fatalf("SIGTERM canceled the context: %v", context.Cause(ctx))
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx.Done(), "cancellation on the second signal")
	if got, want := context.Cause(ctx).Error(), "interrupt during the drain"; got != want {
		t.Errorf("cause %q, want %q", got, want)
	}
}

// The drain test runs the dlmstream binary (built by the test) as `run --streaming`
// in child processes, sends the first SIGTERM mid-stream and restarts it with the
// same group.
const (
	drainInputs  = 300
	drainPrefill = 10                    // inputs produced before the job starts
	drainEvery   = 50 * time.Millisecond // then one input per drainEvery
	drainAfter   = 60                    // results and dead letters written before SIGTERM
	drainTimeout = 2 * time.Minute
)

// TestRunDrain sends SIGTERM to a streaming extraction job while inputs arrive at a
// steady pace: the job must exit 0 within the drain deadline with everything it wrote
// committed, and a second run with the same group must start at the committed offsets
// and finish the rest, so that every input has exactly one result or dead letter.
func TestRunDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the dlmstream binary and runs it for a minute")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build dlmstream with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "dlmstream")
	build := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("kfake", func(t *testing.T) { drainTest(t, bin, kafkatest.Embedded(t, 2)) })
	t.Run("kafka", func(t *testing.T) { drainTest(t, bin, kafkatest.Real(t)) })
}

func drainTest(t *testing.T, bin string, tg kafkatest.Target) {
	const partitions = 2
	in, out, dlq, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, tg.Brokers, topic, partitions)
	}
	msgs := make([]kgo.Message, drainInputs)
	for i := range msgs {
		d := demoTexts[i%len(demoTexts)]
		schema, err := os.ReadFile(filepath.Join(demoSchemas, d.schema+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			schema = []byte(`{"type":"objekt"}`) // a dead letter
		}
		msgs[i] = kgo.Message{Key: []byte(strconv.Itoa(i)), Value: []byte(d.text), Headers: []kgo.Header{
			{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))},
			{Key: kafka.HeaderContentType, Value: []byte("text/plain")}, {Key: kafka.HeaderSchema, Value: schema}}}
	}
	base := []string{"--pipeline", "extraction", "--streaming", "--brokers", strings.Join(tg.Brokers, ","),
		"--input-topics", in, "--output-topic", out, "--dlq-topic", dlq, "--group", group,
		"--model", demoTextModel, "--drain-timeout", drainTimeout.String()}
	child := func(args []string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
		cmd := exec.Command(bin, append([]string{"run"}, args...)...)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		return cmd, &stdout, &stderr
	}
	readOutputs := func() []kgo.Message {
		var all []kgo.Message
		for _, topic := range []string{out, dlq} {
			all = append(all, kafkatest.ReadAll(t, tg.Brokers, topic, -1, 5*time.Second)...)
		}
		return all
	}

	// Run 1, fed at a steady pace, gets SIGTERM once it has written drainAfter records.
	first, stdout1, stderr1 := child(base)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var firstErr error
	go func() { firstErr = first.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			first.Process.Kill()
			<-exited
		}
	}()
	// The first inputs are there when the job starts; the rest come at a steady pace
	// once it has written its first record (starting the job takes a while).
	kafkatest.Produce(t, tg.Brokers, in, msgs[:drainPrefill]...)
	started := time.Now()
	deadline := started.Add(5 * time.Minute)
	// wait waits for n records written, or until enough() holds.
	wait := func(n int, enough func() bool) {
		t.Helper()
		for got := len(readOutputs()); got < n && !enough(); got = len(readOutputs()) {
			select {
			case <-exited:
				t.Fatalf("run 1 exited before SIGTERM: %v\n%s", firstErr, tail(stderr1.String(), 3000))
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("run 1 wrote %d records in 5 minutes\n%s", got, tail(stderr1.String(), 3000))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait(1, func() bool { return false })
	t.Logf("run 1 wrote its first record %s after it started", time.Since(started).Round(time.Millisecond))
	var produced atomic.Int64
	produced.Store(drainPrefill)
	produceDone := make(chan struct{})
	stopProducing := make(chan struct{})
	go func() {
		defer close(produceDone)
		w := &kgo.Writer{Addr: kgo.TCP(tg.Brokers...), Topic: in, Balancer: &kgo.Hash{}, BatchTimeout: time.Millisecond, RequiredAcks: kgo.RequireAll}
		defer w.Close()
		tick := time.NewTicker(drainEvery)
		defer tick.Stop()
		for i := drainPrefill; i < len(msgs); i++ {
			select {
			case <-tick.C:
			case <-stopProducing:
				return
			}
			if err := w.WriteMessages(context.Background(), msgs[i]); err != nil {
				t.Errorf("produce input %d: %v", i, err)
				return
			}
			produced.Add(1)
		}
	}()
	defer func() {
		close(stopProducing)
		<-produceDone
	}()
	steady := time.Now()
	// SIGTERM after drainAfter records, or earlier on a slow machine, while inputs still come.
	wait(drainAfter, func() bool { return produced.Load() >= drainInputs-50 })
	atSignal := produced.Load()
	t.Logf("run 1 wrote %d records in %s at the steady pace (%d inputs produced)", len(readOutputs()), time.Since(steady).Round(time.Millisecond), atSignal)
	if atSignal >= drainInputs {
		t.Fatalf("all %d inputs were produced before SIGTERM: the drain was not mid-stream", drainInputs)
	}
	signaled := time.Now()
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(drainTimeout + time.Minute):
		t.Fatalf("run 1 still running %s after SIGTERM\n%s", drainTimeout+time.Minute, tail(stderr1.String(), 3000))
	}
	drainTime := time.Since(signaled)
	if firstErr != nil {
		t.Fatalf("run 1 after SIGTERM: %v\nstdout:\n%s\nstderr:\n%s", firstErr, stdout1.String(), tail(stderr1.String(), 3000))
	}
	if !strings.Contains(stderr1.String(), "drained: the job ended") || strings.Contains(stderr1.String(), "stopping now") ||
		!strings.Contains(stdout1.String(), "pipeline extraction drained") {
		t.Fatalf("run 1 did not drain within the deadline:\nstdout:\n%s\nstderr:\n%s", stdout1.String(), tail(stderr1.String(), 3000))
	}
	<-produceDone

	// What run 1 wrote is exactly what it committed.
	committed := kafkatest.Committed(t, tg.Brokers, group, in, partitions)
	var committedSum int64
	for _, c := range committed {
		committedSum += max(c, 0)
	}
	source := func(m kgo.Message) (partition int, offset int64) {
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderSource {
				f := strings.Split(string(h.Value), "/")
				p, err1 := strconv.Atoi(f[len(f)-2])
				off, err2 := strconv.ParseInt(f[len(f)-1], 10, 64)
				if err1 == nil && err2 == nil {
					return p, off
				}
			}
		}
		t.Fatalf("output record %s/%d/%d has no source header", m.Topic, m.Partition, m.Offset)
		return 0, 0
	}
	requestID := func(m kgo.Message) string {
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderRequestID {
				return string(h.Value)
			}
		}
		return ""
	}
	outKey := func(m kgo.Message) string { return fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset) }
	run1 := readOutputs()
	inRun1 := map[string]bool{}
	ids1 := map[string]int{}
	beyond := 0
	for _, m := range run1 {
		inRun1[outKey(m)] = true
		ids1[requestID(m)]++
		if p, off := source(m); off >= committed[p] {
			beyond++
		}
	}
	dup1 := len(run1) - len(ids1)
	t.Logf("run 1 on %s: %d inputs, %d produced at SIGTERM, %d done (%d records, %d duplicates, %d beyond the commit), committed %v (sum %d), drain %s",
		tg.Name, drainInputs, atSignal, len(ids1), len(run1), dup1, beyond, committed, committedSum, drainTime.Round(time.Millisecond))
	if dup1 != 0 || beyond != 0 || int64(len(ids1)) != committedSum {
		t.Fatalf("run 1 wrote %d records for %d inputs (%d beyond the commit), committed %d", len(run1), len(ids1), beyond, committedSum)
	}
	if committedSum >= drainInputs {
		t.Fatalf("run 1 committed all %d inputs: the drain was not mid-stream", drainInputs)
	}

	// Run 2 starts at the committed offsets and finishes the rest.
	second, stdout2, stderr2 := child(append(base, "--stop-after-idle", "3s"))
	done2 := make(chan error, 1)
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done2 <- second.Wait() }()
	select {
	case err := <-done2:
		if err != nil {
			t.Fatalf("run 2: %v\nstdout:\n%s\nstderr:\n%s", err, stdout2.String(), tail(stderr2.String(), 3000))
		}
	case <-time.After(10 * time.Minute):
		second.Process.Kill()
		<-done2
		t.Fatalf("run 2 still running after 10 minutes\n%s", tail(stderr2.String(), 3000))
	}
	all := readOutputs()
	ids := map[string]int{}
	firstOffset := map[int]int64{} // lowest input offset run 2 wrote a record for, per partition
	below := 0
	for _, m := range all {
		ids[requestID(m)]++
		if inRun1[outKey(m)] {
			continue
		}
		p, off := source(m)
		if off < committed[p] {
			below++
		}
		if f, ok := firstOffset[p]; !ok || off < f {
			firstOffset[p] = off
		}
	}
	missing := 0
	for i := range drainInputs {
		if ids["req-"+strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	duplicates := len(all) - len(ids)
	t.Logf("run 2 on %s: %d records (first input offsets %v), %d below the commit; overall %d records for %d inputs, %d duplicates, %d missing",
		tg.Name, len(all)-len(run1), firstOffset, below, len(all), len(ids), duplicates, missing)
	if below != 0 || duplicates != 0 || missing != 0 || len(ids) != drainInputs {
		t.Fatalf("overall: %d below the commit, %d duplicates, %d missing of %d inputs", below, duplicates, missing, drainInputs)
	}
	for p, f := range firstOffset {
		if f != committed[p] {
			t.Errorf("run 2 began partition %d at offset %d, want the committed %d", p, f, committed[p])
		}
	}
	final := kafkatest.Committed(t, tg.Brokers, group, in, partitions)
	if final[0]+final[1] != drainInputs {
		t.Fatalf("final commits %v do not cover the %d inputs", final, drainInputs)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
