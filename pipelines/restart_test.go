package pipelines

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/engine"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	kgo "github.com/segmentio/kafka-go"
)

// The restart test runs the extraction pipeline in a child process (this test binary,
// re-executed), kills it with SIGKILL mid-stream, runs it again, and checks that every
// input has a result or dead letter: missing = 0, duplicates counted and reported.
const (
	envRestartChild = "DLMSTREAM_RESTART_CHILD" // "stall" (first run) or "finish"
	envRestartArgs  = "DLMSTREAM_RESTART_ARGS"  // brokers|in|out|dlq|group
	restartInputs   = 600
	stallAfter      = 250 // the first child's engine answers this many requests, then hangs
)

// stallEngine answers like echoEngine, then blocks after n requests until cancelled,
// so the first run is always killed mid-stream, whatever the machine's speed.
type stallEngine struct {
	n    atomic.Int64
	echo echoEngine
}

func (e *stallEngine) Generate(ctx context.Context, req engine.Request) (engine.Result, error) {
	if e.n.Add(1) > stallAfter {
		<-ctx.Done()
		return engine.Result{}, ctx.Err()
	}
	return e.echo.Generate(ctx, req)
}

func restartChild() int {
	flag.Parse()
	beam.Init()
	args := strings.Split(os.Getenv(envRestartArgs), "|")
	brokers, in, out, dlq, group := strings.Split(args[0], ","), args[1], args[2], args[3], args[4]
	model := "test:echo"
	if os.Getenv(envRestartChild) == "stall" {
		model = "test:stall"
		transforms.RegisterGenerator(model, &stallEngine{})
	} else {
		transforms.RegisterGenerator(model, echoEngine{})
	}
	p, s := beam.NewPipelineWithRoot()
	err := Build(s, Options{Name: Extraction, Kafka: kafka.Config{Brokers: brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq,
		Transforms: transforms.Config{Model: model}, Sink: kafka.SinkConfig{BatchSize: 10}})
	if err == nil {
		_, err = beam.Run(context.Background(), "prism", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "restart child:", err)
		return 1
	}
	return 0
}

func TestRestartAfterSIGKILL(t *testing.T) {
	t.Run("kfake", func(t *testing.T) { restartTest(t, kafkatest.Embedded(t, 4)) })
	t.Run("kafka", func(t *testing.T) { restartTest(t, kafkatest.Real(t)) })
}

func restartTest(t *testing.T, tg kafkatest.Target) {
	in, out, dlq, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, tg.Brokers, topic, 4)
	}
	schema := `{"type":"object","properties":{"n":{"type":"integer"}}}`
	msgs := make([]kgo.Message, restartInputs)
	for i := range msgs {
		s := schema
		if i%10 == 9 {
			s = `{"type":"wrong"}` // a dead letter
		}
		msgs[i] = kgo.Message{Key: []byte(strconv.Itoa(i)), Value: []byte("record number " + strconv.Itoa(i)),
			Headers: []kgo.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))},
				{Key: kafka.HeaderContentType, Value: []byte("text/plain")}, {Key: kafka.HeaderSchema, Value: []byte(s)}}}
	}
	kafkatest.Produce(t, tg.Brokers, in, msgs...)
	child := func(mode string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envRestartChild+"="+mode,
			envRestartArgs+"="+strings.Join([]string{strings.Join(tg.Brokers, ","), in, out, dlq, group}, "|"))
		if logs := os.Getenv("DLMSTREAM_RESTART_LOG"); logs != "" { // prism logs, for debugging
			f, err := os.Create(logs + "." + mode)
			if err == nil {
				cmd.Stdout, cmd.Stderr = f, f
			}
		}
		return cmd
	}
	written := func() int {
		n := 0
		for _, topic := range []string{out, dlq} {
			n += len(kafkatest.ReadAll(t, tg.Brokers, topic, -1, 5*time.Second))
		}
		return n
	}

	first := child("stall")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(4 * time.Minute)
	atKill := 0
	exited := make(chan struct{})
	var firstErr error
	go func() { firstErr = first.Wait(); close(exited) }()
	for atKill = written(); atKill < 100; atKill = written() {
		select {
		case <-exited:
			t.Fatalf("first run exited before it was killed: %v", firstErr)
		default:
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("first run wrote %d results in 4 minutes", atKill)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	if ws, ok := first.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first run ended with %v, want killed by SIGKILL", first.ProcessState)
	}
	committed := kafkatest.Committed(t, tg.Brokers, group, in, 4)
	var committedSum int64
	for _, c := range committed {
		committedSum += max(c, 0)
	}

	second := child("finish")
	var logs strings.Builder
	if second.Stdout == nil {
		second.Stdout, second.Stderr = &logs, &logs
	}
	if err := second.Run(); err != nil {
		t.Fatalf("second run: %v\n%s", err, tail(logs.String(), 3000))
	}

	ids := map[string]int{}
	total := 0
	for _, topic := range []string{out, dlq} {
		for _, m := range kafkatest.ReadAll(t, tg.Brokers, topic, -1, 10*time.Second) {
			total++
			for _, h := range m.Headers {
				if h.Key == kafka.HeaderRequestID {
					ids[string(h.Value)]++
				}
			}
		}
	}
	missing := 0
	for i := range restartInputs {
		if ids["req-"+strconv.Itoa(i)] == 0 {
			missing++
		}
	}
	duplicates := total - len(ids)
	t.Logf("restart test on %s: produced %d, written before SIGKILL %d (committed %d), results %d (distinct %d), duplicates %d, missing %d",
		tg.Name, restartInputs, atKill, committedSum, total, len(ids), duplicates, missing)
	if missing != 0 || len(ids) != restartInputs {
		t.Fatalf("missing %d of %d inputs (distinct ids %d)", missing, restartInputs, len(ids))
	}
	if final := kafkatest.Committed(t, tg.Brokers, group, in, 4); final[0]+final[1]+final[2]+final[3] != restartInputs {
		t.Fatalf("final commits %v do not cover the %d inputs", final, restartInputs)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
