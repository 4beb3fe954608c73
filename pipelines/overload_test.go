package pipelines

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/engine"
	"dlmstream/monitor"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	kgo "github.com/segmentio/kafka-go"
)

// The overload test runs one worker process (this test binary, re-executed)
// with the streaming extraction pipeline on prism and an engine double
// with the real engine's admission rule: a bounded queue that refuses
// with engine.ErrBusy when full (transforms retry: backpressure, not
// failure). It feeds ten times the rate the worker sustains.
const (
	envOverloadChild   = "DLMSTREAM_OVERLOAD_CHILD"   // brokers|in|out|dlq|group
	envOverloadSeconds = "DLMSTREAM_OVERLOAD_SECONDS" // how long the 10x feed lasts; default 15
	overloadWork       = 25 * time.Millisecond        // per request, one at a time
	overloadQueue      = 1                            // requests waiting beyond the running one
	overloadParts      = 2
	overloadValueBytes = 16 << 10
)

// busyEngine runs one request at a time, taking work each, holds at most
// queue more waiting, and refuses the rest with engine.ErrBusy, as the
// engine's scheduler does when its queue is full.
type busyEngine struct {
	work    time.Duration
	run     chan struct{} // [1]: the running request
	admit   chan struct{} // [1+queue]: running and waiting
	refused prometheus.Counter
}

func (e *busyEngine) Generate(ctx context.Context, req engine.Request) (engine.Result, error) {
	select {
	case e.admit <- struct{}{}:
	default:
		e.refused.Inc()
		return engine.Result{}, engine.ErrBusy
	}
	defer func() { <-e.admit }()
	select {
	case e.run <- struct{}{}:
	case <-ctx.Done():
		return engine.Result{}, ctx.Err()
	}
	defer func() { <-e.run }()
	return echoEngine{delay: e.work}.Generate(ctx, req)
}

func overloadChild() int {
	flag.Parse()
	beam.Init()
	a := strings.Split(os.Getenv(envOverloadChild), "|")
	brokers, in, out, dlq, group := strings.Split(a[0], ","), a[1], a[2], a[3], a[4]
	srv, err := monitor.Start("127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload child:", err)
		return 1
	}
	defer srv.Close()
	fmt.Println("overload child metrics at", srv.Addr())
	model := "test:overload-busy"
	transforms.RegisterGenerator(model, &busyEngine{work: overloadWork, run: make(chan struct{}, 1), admit: make(chan struct{}, 1+overloadQueue),
		refused: promauto.With(monitor.Registry()).NewCounter(prometheus.CounterOpts{Name: "overload_engine_busy_total", Help: "requests the double refused with ErrBusy"})})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	p, s := beam.NewPipelineWithRoot()
	err = Build(s, Options{Name: Extraction, Kafka: kafka.Config{Brokers: brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq, Streaming: true,
		Transforms: transforms.Config{Model: model, MaxInFlight: 4}, Sink: kafka.SinkConfig{BatchSize: 10}})
	if err == nil {
		_, err = beam.Run(ctx, "prism", p)
	}
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "overload child:", err)
		return 1
	}
	return 0
}

// overloadInput is a 16 KiB text whose last line names it (the echo double
// answers with the last line).
func overloadInput(i int) kgo.Message {
	m := groupInput(i)
	m.Value = []byte(strings.Repeat("filler line of an overload input\n", overloadValueBytes/33) + "record number " + strconv.Itoa(i))
	return m
}

// procStatus reads a field (VmRSS, VmHWM) of /proc/pid/status in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// scrape sums each named metric's series on a Prometheus text page.
func scrape(addr string, names ...string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, n := range names {
			if rest, ok := strings.CutPrefix(line, n); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
				if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
					out[n] += v
				}
			}
		}
	}
	return out, nil
}

// lagOf is the group's lag on topic: high watermarks minus committed offsets.
func lagOf(t *testing.T, brokers []string, group, topic string, parts int) int64 {
	committed := kafkatest.Committed(t, brokers, group, topic, parts)
	var lag int64
	for p := range parts {
		c, err := kgo.DialLeader(context.Background(), "tcp", brokers[0], topic, p)
		if err != nil {
			t.Fatal(err)
		}
		hwm, err := c.ReadLastOffset()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		lag += hwm - max(committed[p], 0)
	}
	return lag
}

// overloadSample is one second of the overload run.
type overloadSample struct {
	at                 time.Duration
	lag                int64
	fetched, written   float64
	rss                int64
	busy               float64
	producing, drained bool
}

// TestOverload: a worker is fed ten times the rate it sustains (measured
// first on a backlog) for DLMSTREAM_OVERLOAD_SECONDS (default 15; the
// closing note's figures are for 300). Engine-busy backpressure pauses
// fetching (records fetched and not yet written stay within the readers'
// buffers), memory stays bounded, the group's lag grows and then drains
// to 0, every input gets its result and none becomes a dead letter.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("overload test: minutes")
	}
	seconds := 15
	if v := os.Getenv(envOverloadSeconds); v != "" {
		var err error
		if seconds, err = strconv.Atoi(v); err != nil || seconds <= 0 {
			t.Fatalf("%s=%q: want a positive number of seconds", envOverloadSeconds, v)
		}
	}
	tg := kafkatest.Real(t)
	in, out, dlq, group := kafkatest.Topic(t, "oin"), kafkatest.Topic(t, "oout"), kafkatest.Topic(t, "odlq"), kafkatest.Topic(t, "ogrp")
	kafkatest.CreateTopic(t, tg.Brokers, in, overloadParts)
	kafkatest.CreateTopic(t, tg.Brokers, out, overloadParts)
	kafkatest.CreateTopic(t, tg.Brokers, dlq, 1)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envOverloadChild+"="+strings.Join([]string{strings.Join(tg.Brokers, ","), in, out, dlq, group}, "|"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuilder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "overload child metrics at "); ok {
				addrc <- a
			}
		}
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	var addr string
	select {
	case addr = <-addrc:
	case <-exited:
		t.Fatalf("worker ended before serving metrics:\n%s", stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("worker did not serve metrics within a minute")
	}
	const fetchedM, writtenM, busyM = "dlmstream_kafka_records_fetched_total", "dlmstream_kafka_records_written_total", "overload_engine_busy_total"
	written := func() float64 {
		m, err := scrape(addr, writtenM)
		if err != nil {
			t.Fatal(err)
		}
		return m[writtenM]
	}
	// waitWritten waits for n results while they keep coming (gives up after
	// a minute without one); it returns when the first and the last came.
	waitWritten := func(n float64) (first, last time.Time) {
		seen, deadline := 0.0, time.Now().Add(time.Minute)
		for {
			w := written()
			if w > seen {
				if seen == 0 {
					first = time.Now()
				}
				seen, last, deadline = w, time.Now(), time.Now().Add(time.Minute)
			}
			if w >= n {
				return first, last
			}
			if time.Now().After(deadline) {
				t.Fatalf("%.0f of %.0f results, none for a minute\n%s", w, n, stderr.String())
			}
			select {
			case <-exited:
				t.Fatalf("worker ended with %.0f of %.0f results:\n%s", w, n, stderr.String())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	// The sustainable rate: a backlog drained, first result to last.
	const backlog = 200
	msgs := make([]kgo.Message, backlog)
	for i := range msgs {
		msgs[i] = overloadInput(i)
	}
	kafkatest.Produce(t, tg.Brokers, in, msgs...)
	first, last := waitWritten(backlog)
	sustained := float64(backlog-1) / max(last.Sub(first).Seconds(), 1e-3)
	rate := max(int(10*sustained)/10*10, 10) // ten times the sustained rate, a multiple of 10 (produceAtRate's ticks)
	base, err := procStatus(cmd.Process.Pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}

	// The overload: rate for seconds, sampled each second until drained.
	var produced atomic.Int64
	var producing atomic.Bool
	producing.Store(true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := produceAtRate(t, tg.Brokers, in, backlog, rate, seconds)
		produced.Store(int64(n))
		producing.Store(false)
	}()
	start := time.Now()
	var samples []overloadSample
	drainedAt := time.Duration(0)
	stall, prevWritten := time.Now(), 0.0
	for {
		time.Sleep(time.Second)
		m, err := scrape(addr, fetchedM, writtenM, busyM)
		if err != nil {
			t.Fatal(err)
		}
		rss, err := procStatus(cmd.Process.Pid, "VmRSS")
		if err != nil {
			t.Fatalf("worker gone: %v\n%s", err, stderr.String())
		}
		s := overloadSample{at: time.Since(start), lag: lagOf(t, tg.Brokers, group, in, overloadParts), fetched: m[fetchedM],
			written: m[writtenM], rss: rss, busy: m[busyM], producing: producing.Load()}
		s.drained = !s.producing && s.lag == 0 && s.written >= float64(backlog+produced.Load())
		samples = append(samples, s)
		if s.written > prevWritten {
			stall, prevWritten = time.Now(), s.written
		}
		if s.drained {
			drainedAt = s.at
			break
		}
		if time.Since(stall) > time.Minute {
			t.Fatalf("overload: no result for a minute at %.0f written, lag %d\n%s", s.written, s.lag, stderr.String())
		}
	}
	wg.Wait()
	peak, err := procStatus(cmd.Process.Pid, "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	<-exited
	n := backlog + int(produced.Load())

	// Every input has its result; none is a dead letter.
	ids, results, _ := groupResults(t, tg.Brokers, out)
	missing := 0
	for i := range n {
		if ids["req-"+strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	dead := kafkatest.ReadAll(t, tg.Brokers, dlq, -1, 2*time.Second)

	var peakLag, peakAhead int64
	var peakLagAt time.Duration
	var curve []string
	for i, s := range samples {
		if s.lag > peakLag {
			peakLag, peakLagAt = s.lag, s.at
		}
		peakAhead = max(peakAhead, int64(s.fetched-s.written))
		if i%max(1, len(samples)/12) == 0 || s.drained {
			curve = append(curve, fmt.Sprintf("%.0fs lag %d ahead %d rss %d MiB", s.at.Seconds(), s.lag, int64(s.fetched-s.written), s.rss>>20))
		}
	}
	last1 := samples[len(samples)-1]
	t.Logf("overload: sustained %.1f msgs/s; fed %d msgs/s (%.1fx) for %d s: %d inputs of %d KiB; engine busy refusals %.0f; peak lag %d at %.0f s; drained at %.0f s; records the source took from its readers ahead of those written at most %d; RSS %d MiB after the backlog, peak %d MiB (VmHWM); missing %d, dead letters %d, duplicates %d",
		sustained, rate, float64(rate)/sustained, seconds, n-backlog, overloadValueBytes>>10, last1.busy, peakLag, peakLagAt.Seconds(), drainedAt.Seconds(),
		peakAhead, base>>20, peak>>20, missing, len(dead), results-len(ids))
	t.Logf("overload lag curve: %s", strings.Join(curve, "; "))

	if missing != 0 {
		t.Errorf("missing %d of %d inputs", missing, n)
	}
	if len(dead) != 0 {
		t.Errorf("%d dead letters under load, want 0 (first: %s)", len(dead), headerOf(dead[0], kafka.HeaderError))
	}
	if last1.busy == 0 {
		t.Error("the engine never refused a request: the feed did not overload it")
	}
	// Backpressure: a source that kept emitting while the engine was busy
	// would be ahead of the sink by most of the lag. Ahead counts what the
	// source took from its readers (dlmstream_kafka_records_fetched_total);
	// the readers themselves hold at most kafka.ReaderQueue records a
	// partition, which the flat RSS shows.
	if bound := int64(overloadParts*kafka.ReaderQueue + 64); peakAhead > bound {
		t.Errorf("fetched ahead of written by %d records, more than the readers' buffers (%d): fetching did not pause", peakAhead, bound)
	}
	if peakLag < int64(n-backlog)/2 {
		t.Errorf("peak lag %d of %d inputs fed: the feed did not outrun the worker", peakLag, n-backlog)
	}
	// Memory: what the readers buffer (their records, with copies in
	// flight) and the runtime's slack, not the backlog.
	if grown := peak - base; grown > 512<<20 {
		t.Errorf("RSS grew %d MiB under overload (from %d MiB), want under 512 MiB", grown>>20, base>>20)
	}
}
