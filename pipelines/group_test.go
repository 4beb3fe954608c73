package pipelines

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	kgo "github.com/segmentio/kafka-go"
)

// The consumer-group test runs worker processes (this test binary,
// re-executed) that share one input topic through Kafka's group protocol
// (kafka.SourceConfig.Membership), each running the streaming extraction
// pipeline on prism with an engine double that takes groupWork per
// request (inference stands in as latency, so the workers' sharing shows
// on a 2-core machine).
const (
	envGroupChild  = "DLMSTREAM_GROUP_CHILD" // brokers|in|out|dlq|group
	groupWork      = 20 * time.Millisecond
	groupParts     = 12
	groupSessionTO = 6 * time.Second
)

func groupChild() int {
	flag.Parse()
	beam.Init()
	args := strings.Split(os.Getenv(envGroupChild), "|")
	brokers, in, out, dlq, group := strings.Split(args[0], ","), args[1], args[2], args[3], args[4]
	model := "test:group-echo"
	transforms.RegisterGenerator(model, echoEngine{delay: groupWork})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	p, s := beam.NewPipelineWithRoot()
	err := Build(s, Options{Name: Extraction, Kafka: kafka.Config{Brokers: brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq, Streaming: true,
		Source:     kafka.SourceConfig{Membership: true, SessionTimeout: groupSessionTO, PollFor: 500 * time.Millisecond},
		Transforms: transforms.Config{Model: model, MaxInFlight: 4}, Sink: kafka.SinkConfig{BatchSize: 10}})
	if err == nil {
		_, err = beam.Run(ctx, "prism", p)
	}
	kafka.CloseMembers() // leave the group: the partitions move at once
	if err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "group child:", err)
		return 1
	}
	return 0
}

// groupWorker is one child process and the generation lines it logged.
type groupWorker struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	gens []time.Time // when each new generation began in this worker
	tail []string    // its last groupTail log lines, for a failure's report
	done chan struct{}
	exit error // how the process ended, once done is closed
}

// groupTail is how many of a worker's last log lines a failure reports.
const groupTail = 60

var genLine = regexp.MustCompile(`kafka: group generation`)

func startGroupWorker(t *testing.T, name string, env string) *groupWorker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envGroupChild+"="+env)
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	g := &groupWorker{name: name, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Read every line, however long: a reader that stopped would
		// block the child's next write to stderr, and with it the
		// goroutine that logs (a worker stuck in slog.Info looks like a
		// member that never rebalances).
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				at := time.Now()
				g.mu.Lock()
				if genLine.MatchString(line) {
					g.gens = append(g.gens, at)
				}
				g.tail = append(g.tail, at.Format("15:04:05.000 ")+strings.TrimRight(line, "\n"))
				if len(g.tail) > groupTail {
					g.tail = g.tail[len(g.tail)-groupTail:]
				}
				g.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { g.exit = cmd.Wait(); w.Close(); close(g.done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-g.done })
	return g
}

// exited reports whether the worker's process has ended, and how.
func (g *groupWorker) exited() (bool, error) {
	select {
	case <-g.done:
		return true, g.exit
	default:
		return false, nil
	}
}

// report is the worker's last log lines, one per line.
func (g *groupWorker) report() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.name + ":\n  " + strings.Join(g.tail, "\n  ")
}

// firstGenAfter is when the worker began its first generation after t0.
func (g *groupWorker) firstGenAfter(t0 time.Time) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, at := range g.gens {
		if at.After(t0) {
			return at, true
		}
	}
	return time.Time{}, false
}

func groupInput(i int) kgo.Message {
	return kgo.Message{Key: []byte(strconv.Itoa(i)), Value: []byte("record number " + strconv.Itoa(i)),
		Headers: []kgo.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))},
			{Key: kafka.HeaderContentType, Value: []byte("text/plain")},
			{Key: kafka.HeaderSchema, Value: []byte(`{"type":"object","properties":{"n":{"type":"integer"}}}`)}}}
}

// results counts each request id's results and dead letters so far, and
// when the newest was written.
func groupResults(t *testing.T, brokers []string, topics ...string) (map[string]int, int, time.Time) {
	ids := map[string]int{}
	total := 0
	var last time.Time
	for _, topic := range topics {
		for _, m := range kafkatest.ReadAll(t, brokers, topic, -1, 3*time.Second) {
			total++
			if m.Time.After(last) {
				last = m.Time
			}
			if id := headerOf(m, kafka.HeaderRequestID); id != "" {
				ids[id]++
			}
		}
	}
	return ids, total, last
}

// headerOf returns m's header key, or "".
func headerOf(m kgo.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// produceAtRate writes groupInput(first), groupInput(first+1), ... to topic
// at rate per second (a tenth each 100 ms) for seconds; it returns how many.
func produceAtRate(t *testing.T, brokers []string, topic string, first, rate, seconds int) int {
	n := 0
	tick := time.NewTicker(time.Second / 10)
	defer tick.Stop()
	for end := time.Now().Add(time.Duration(seconds) * time.Second); time.Now().Before(end); <-tick.C {
		batch := make([]kgo.Message, rate/10)
		for i := range batch {
			batch[i] = groupInput(first + n)
			n++
		}
		kafkatest.Produce(t, brokers, topic, batch...)
	}
	return n
}

// groupLatencies is, for each input from number first on, the time from
// its produce timestamp to its first result's, sorted.
func groupLatencies(t *testing.T, brokers []string, in, out string, first int) []time.Duration {
	requestID := func(m kgo.Message) string { return headerOf(m, kafka.HeaderRequestID) }
	produced := map[string]time.Time{}
	for _, m := range kafkatest.ReadAll(t, brokers, in, -1, 3*time.Second) {
		if i, err := strconv.Atoi(strings.TrimPrefix(requestID(m), "req-")); err == nil && i >= first {
			produced[requestID(m)] = m.Time
		}
	}
	done := map[string]time.Time{}
	for _, m := range kafkatest.ReadAll(t, brokers, out, -1, 3*time.Second) {
		id := requestID(m)
		if _, streamed := produced[id]; !streamed {
			continue
		}
		if at, ok := done[id]; !ok || m.Time.Before(at) {
			done[id] = m.Time
		}
	}
	var lat []time.Duration
	for id, at := range done {
		lat = append(lat, at.Sub(produced[id]))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// quantile of sorted durations (nearest rank), to the millisecond.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(q*float64(len(sorted))))
	return sorted[i].Round(time.Millisecond)
}

// TestConsumerGroupWorkers: worker processes in one consumer group share a
// 12-partition topic. Scaling: the same backlog with 1, 2 and 3 workers,
// then end-to-end latency at a fixed rate.
// Moves: 3 workers under a producer at a fixed rate; a 4th joins, one is
// SIGKILLed, one stops with SIGTERM; every input ends with a result or
// dead letter, duplicates are counted and bounded by what was in flight.
func TestConsumerGroupWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process consumer-group test")
	}
	tg := kafkatest.Real(t)
	newTopics := func(tag string) (in, out, dlq, group string) {
		in, out, dlq, group = kafkatest.Topic(t, "gin"+tag), kafkatest.Topic(t, "gout"+tag), kafkatest.Topic(t, "gdlq"+tag), kafkatest.Topic(t, "grp"+tag)
		kafkatest.CreateTopic(t, tg.Brokers, in, groupParts)
		kafkatest.CreateTopic(t, tg.Brokers, out, 4)
		kafkatest.CreateTopic(t, tg.Brokers, dlq, 4)
		return
	}
	env := func(in, out, dlq, group string) string {
		return strings.Join([]string{strings.Join(tg.Brokers, ","), in, out, dlq, group}, "|")
	}
	// waitAll waits for n inputs to have results, for as long as results
	// keep coming: it gives up after stall without a new one (a shared
	// machine under load may be slow; a lost input never arrives).
	waitAll := func(n int, out, dlq string, stall time.Duration) (map[string]int, int, time.Time) {
		deadline, seen := time.Now().Add(stall), 0
		for {
			ids, total, last := groupResults(t, tg.Brokers, out, dlq)
			if len(ids) >= n || time.Now().After(deadline) {
				return ids, total, last
			}
			if len(ids) > seen {
				deadline, seen = time.Now().Add(stall), len(ids)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	t.Run("scaling", func(t *testing.T) {
		// Throughput: a backlog drained by N workers. Latency: then a
		// stream at a fixed rate below one worker's throughput, from each
		// input's produce time to its result's write time (both Kafka
		// timestamps, one clock).
		const backlog, latRate, latSeconds = 600, 60, 8
		var base float64
		for _, workers := range []int{1, 2, 3} {
			in, out, dlq, group := newTopics(fmt.Sprint(workers))
			msgs := make([]kgo.Message, backlog)
			for i := range msgs {
				msgs[i] = groupInput(i)
			}
			kafkatest.Produce(t, tg.Brokers, in, msgs...)
			var ws []*groupWorker
			for w := range workers {
				ws = append(ws, startGroupWorker(t, fmt.Sprintf("w%d", w), env(in, out, dlq, group)))
			}
			// Throughput from the first result to the last: start-up and joining are not counted.
			var first time.Time
			for first.IsZero() {
				if _, n, last := groupResults(t, tg.Brokers, out); n > 0 {
					first = last
				}
				time.Sleep(200 * time.Millisecond)
			}
			ids, _, last := waitAll(backlog, out, dlq, time.Minute)
			if len(ids) != backlog {
				t.Fatalf("%d workers: %d of %d inputs have results", workers, len(ids), backlog)
			}
			n := backlog + produceAtRate(t, tg.Brokers, in, backlog, latRate, latSeconds)
			ids, total, _ := waitAll(n, out, dlq, time.Minute)
			for _, w := range ws {
				if ok, err := w.exited(); ok {
					t.Errorf("%d workers: %s ended before it was stopped (%v); its last lines:\n%s", workers, w.name, err, w.report())
				}
				w.cmd.Process.Signal(syscall.SIGTERM)
				<-w.done
			}
			if len(ids) != n {
				t.Fatalf("%d workers: %d of %d inputs have results", workers, len(ids), n)
			}
			lat := groupLatencies(t, tg.Brokers, in, out, backlog)
			if len(lat) != n-backlog {
				t.Fatalf("%d workers: latency of %d of %d streamed inputs", workers, len(lat), n-backlog)
			}
			rate := float64(backlog) / max(last.Sub(first).Seconds(), 1e-3)
			if base == 0 {
				base = rate
			}
			t.Logf("consumer group, %d worker(s): %d inputs, %.1f msgs/s (%.2fx of 1 worker, efficiency %.0f%%); at %d msgs/s: latency p50 %s, p99 %s; duplicates %d",
				workers, backlog, rate, rate/base, 100*rate/base/float64(workers), latRate,
				quantile(lat, 0.5), quantile(lat, 0.99), total-len(ids))
		}
	})

	t.Run("moves", func(t *testing.T) {
		in, out, dlq, group := newTopics("moves")
		const rate, seconds = 60, 24 // inputs per second, for this long
		var ws []*groupWorker
		for w := range 3 {
			ws = append(ws, startGroupWorker(t, fmt.Sprintf("w%d", w), env(in, out, dlq, group)))
		}
		produced := make(chan int)
		go func() { produced <- produceAtRate(t, tg.Brokers, in, 0, rate, seconds) }()
		events := []struct {
			at   time.Duration
			name string
			do   func() time.Time
		}{
			{6 * time.Second, "4th worker joins", func() time.Time {
				ws = append(ws, startGroupWorker(t, "w3", env(in, out, dlq, group)))
				return time.Now()
			}},
			{12 * time.Second, "SIGKILL w0", func() time.Time { ws[0].cmd.Process.Signal(syscall.SIGKILL); return time.Now() }},
			{18 * time.Second, "SIGTERM w1", func() time.Time { ws[1].cmd.Process.Signal(syscall.SIGTERM); return time.Now() }},
		}
		start := time.Now()
		var moves []string
		for _, e := range events {
			time.Sleep(time.Until(start.Add(e.at)))
			at := e.do()
			survivor := ws[2]
			deadline := time.Now().Add(groupSessionTO + 20*time.Second)
			for {
				if g, ok := survivor.firstGenAfter(at); ok {
					moves = append(moves, fmt.Sprintf("%s: partitions moved in %.1f s", e.name, g.Sub(at).Seconds()))
					break
				}
				if time.Now().After(deadline) {
					moves = append(moves, e.name+": no new generation seen in w2")
					t.Errorf("%s: w2 began no new generation within %s", e.name, groupSessionTO+20*time.Second)
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		n := <-produced
		ids, total, _ := waitAll(n, out, dlq, time.Minute)
		var reports []string
		for i, w := range ws {
			// w0 was killed and w1 stopped; the others run until now. A
			// worker whose job failed (a bundle error) exits on its own,
			// and the group hides it: the others take its partitions.
			if ok, err := w.exited(); ok && i >= 2 {
				t.Errorf("%s ended before it was stopped (%v)", w.name, err)
			}
			reports = append(reports, w.report())
			w.cmd.Process.Signal(syscall.SIGTERM)
		}
		defer func() {
			if t.Failed() {
				t.Log("the workers' last log lines:\n" + strings.Join(reports, "\n"))
			}
		}()
		missing := 0
		for i := range n {
			if ids["req-"+strconv.Itoa(i)] == 0 {
				missing++
			}
		}
		dup := total - len(ids)
		var dupIDs []string
		for id, c := range ids {
			if c > 1 {
				dupIDs = append(dupIDs, id)
			}
		}
		sort.Strings(dupIDs)
		t.Logf("consumer group moves: produced %d at %d/s over %d s, 3 workers, then %s; results %d (distinct %d), missing %d, duplicates %d",
			n, rate, seconds, strings.Join(moves, "; "), total, len(ids), missing, dup)
		if missing != 0 {
			t.Fatalf("missing %d of %d inputs", missing, n)
		}
		// In flight at a move: what a worker had fetched (its buffer) and not
		// yet committed; three moves bound the re-reads.
		if bound := 3 * 1024; dup > bound {
			t.Errorf("duplicates %d > %d, more than three moves' worth of in-flight records", dup, bound)
		}
	})
}
