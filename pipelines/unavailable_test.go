package pipelines

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"dlmstream/connectors/kafka/kafkatest"

	kgo "github.com/segmentio/kafka-go"
)

// TestSinkTopicUnavailable: the streaming extraction pipeline (a child
// process, on a broker of the test's own that does not create topics by
// itself) writes to an output or dead-letter topic that does not exist
// (UNKNOWN_TOPIC_OR_PARTITION on every produce). While it is missing: the
// pipeline keeps running, no input offset is committed past an input
// without its record, nothing is written twice, and the failing topic is
// named in the logs. Once the test creates the topic, every input has its
// result or dead letter, once, and the commits reach the end.
func TestSinkTopicUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	b := kafkatest.StartBroker(t, kafkatest.BrokerOptions{NoAutoCreate: true})
	for _, missing := range []string{"output", "dead-letter"} {
		t.Run(missing, func(t *testing.T) {
			in, out, dlq, group := kafkatest.Topic(t, "uin"), kafkatest.Topic(t, "uout"), kafkatest.Topic(t, "udlq"), kafkatest.Topic(t, "ug")
			bad, good := out, dlq
			if missing == "dead-letter" {
				bad, good = dlq, out
			}
			kafkatest.CreateTopic(t, b.Brokers, in, 2)
			kafkatest.CreateTopic(t, b.Brokers, good, 2)
			const inputs = 100
			msgs := make([]kgo.Message, inputs)
			for i := range msgs {
				msgs[i] = killInput(t, Extraction, i, nil, nil) // every tenth a dead letter
			}
			kafkatest.Produce(t, b.Brokers, in, msgs...)
			logs, exited := startChild(t, strings.Join([]string{Extraction, strings.Join(b.Brokers, ","), in, out, dlq, group, "stream"}, "|"))

			// Missing: wait until the sink has logged the refusal, then hold for a while.
			refusal := `op=write topic=` + bad
			waitLog(t, logs, exited, refusal, time.Minute)
			time.Sleep(10 * time.Second)
			select {
			case err := <-exited:
				t.Fatalf("the pipeline exited while the %s topic was missing: %v\n%s", missing, err, tail(logs.String(), 3000))
			default:
			}
			ids, total := finals(t, b.Brokers, out, dlq)
			committed := kafkatest.Committed(t, b.Brokers, group, in, 2)
			checkCommitted(t, b.Brokers, in, committed, ids)
			if total != len(ids) {
				t.Errorf("%d records for %d inputs while the %s topic was missing: written twice", total, len(ids), missing)
			}
			line := firstLine(logs.String(), refusal)
			t.Logf("while the %s topic was missing: %d of %d inputs have records, committed %v; logged: %.300s", missing, len(ids), inputs, committed, line)
			if !strings.Contains(line, "Unknown Topic Or Partition") {
				t.Errorf("the log line does not name the refusal: %s", line)
			}

			kafkatest.CreateTopic(t, b.Brokers, bad, 2)
			start := time.Now()
			deadline := start.Add(2 * time.Minute)
			for {
				ids, total := finals(t, b.Brokers, out, dlq)
				if len(ids) == inputs {
					t.Logf("all %d inputs have records %s after the %s topic was created; %d records (duplicates %d)", inputs, time.Since(start).Round(100*time.Millisecond), missing, total, total-inputs)
					if total != inputs {
						t.Errorf("%d records for %d inputs: written twice", total, inputs)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d inputs have records two minutes after the %s topic was created\n%s", len(ids), inputs, missing, tail(logs.String(), 3000))
				}
				time.Sleep(500 * time.Millisecond)
			}
			waitCommitted(t, b.Brokers, group, in, 2, inputs)
		})
	}
}

// TestDeadLetterTopicRefuses: a dead-letter topic whose max.message.bytes
// is below the dead letters' size refuses them for good (MESSAGE_TOO_LARGE):
// the pipeline stops with an error naming the topic and the refusal, having
// committed no input past one without its record; after the topic's limit
// is raised, a restarted pipeline gives every input its record.
func TestDeadLetterTopicRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	tg := kafkatest.Real(t)
	in, out, dlq, group := kafkatest.Topic(t, "rin"), kafkatest.Topic(t, "rout"), kafkatest.Topic(t, "rdlq"), kafkatest.Topic(t, "rg")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, tg.Brokers, topic, 2)
	}
	kafkatest.SetTopicConfig(t, tg.Brokers, dlq, "max.message.bytes", "200")
	const inputs = 100
	msgs := make([]kgo.Message, inputs)
	for i := range msgs {
		msgs[i] = killInput(t, Extraction, i, nil, nil) // every tenth a dead letter
	}
	kafkatest.Produce(t, tg.Brokers, in, msgs...)
	env := strings.Join([]string{Extraction, strings.Join(tg.Brokers, ","), in, out, dlq, group, "stream"}, "|")
	logs, exited := startChild(t, env)
	select {
	case err := <-exited:
		if err == nil {
			t.Fatal("the pipeline exited 0 with its dead letters refused")
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the pipeline still runs two minutes after its dead letters were refused\n%s", tail(logs.String(), 3000))
	}
	line := firstLine(logs.String(), "kafka: write to "+dlq)
	t.Logf("the pipeline stopped: %.400s", line)
	if !strings.Contains(line, "Message Size Too Large") {
		t.Errorf("the error does not name the topic and the refusal:\n%s", tail(logs.String(), 3000))
	}
	ids, before := finals(t, tg.Brokers, out, dlq)
	committed := kafkatest.Committed(t, tg.Brokers, group, in, 2)
	checkCommitted(t, tg.Brokers, in, committed, ids)

	kafkatest.SetTopicConfig(t, tg.Brokers, dlq, "max.message.bytes", "1048588")
	logs, exited = startChild(t, env)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ids, total := finals(t, tg.Brokers, out, dlq)
		if len(ids) == inputs {
			t.Logf("after the restart: %d inputs, %d records (%d before the stop, committed %v); duplicates %d", inputs, total, before, committed, total-inputs)
			if total-inputs > before {
				t.Errorf("%d duplicates, more than the %d records written before the stop", total-inputs, before)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d inputs have records two minutes after the restart\n%s", len(ids), inputs, tail(logs.String(), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	waitCommitted(t, tg.Brokers, group, in, 2, inputs)
	select {
	case err := <-exited:
		t.Fatalf("the restarted pipeline exited: %v\n%s", err, tail(logs.String(), 3000))
	default:
	}
}

// startChild starts the kill test's child pipeline (env: envKillChild's
// value), returning its output so far and a channel for its exit; it is
// killed when the test ends.
func startChild(t *testing.T, env string) (*syncBuilder, <-chan error) {
	t.Helper()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), envKillChild+"="+env)
	logs := &syncBuilder{}
	child.Stdout, child.Stderr = logs, logs
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	t.Cleanup(func() { child.Process.Kill() })
	return logs, exited
}

// waitLog waits until the child has logged sub.
func waitLog(t *testing.T, logs *syncBuilder, exited <-chan error, sub string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(logs.String(), sub) {
		select {
		case err := <-exited:
			t.Fatalf("the pipeline exited before logging %q: %v\n%s", sub, err, tail(logs.String(), 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not logged in %s\n%s", sub, d, tail(logs.String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkCommitted: a partition's commit point passes an input only once it
// and every input before it in the partition have their record.
func checkCommitted(t *testing.T, brokers []string, in string, committed map[int]int64, ids map[string]int) {
	t.Helper()
	parts := partitionsOf(t, brokers, in)
	for p, c := range committed {
		for off := int64(0); off < c; off++ {
			if id := parts[p][off]; ids[id] == 0 {
				t.Errorf("partition %d committed to %d, past %s (offset %d), which has no record", p, c, id, off)
				break
			}
		}
	}
}

// partitionsOf maps each partition of topic to its request ids by offset.
func partitionsOf(t *testing.T, brokers []string, topic string) map[int][]string {
	parts := map[int][]string{}
	for _, m := range kafkatest.ReadAll(t, brokers, topic, -1, 3*time.Second) {
		for len(parts[m.Partition]) <= int(m.Offset) {
			parts[m.Partition] = append(parts[m.Partition], "")
		}
		for _, h := range m.Headers {
			if h.Key == "request-id" {
				parts[m.Partition][m.Offset] = string(h.Value)
			}
		}
	}
	return parts
}

// waitCommitted waits until the group's commits of topic sum to n.
func waitCommitted(t *testing.T, brokers []string, group, topic string, partitions, n int) {
	deadline := time.Now().Add(time.Minute)
	for {
		var sum int64
		c := kafkatest.Committed(t, brokers, group, topic, partitions)
		for _, off := range c {
			sum += max(off, 0)
		}
		if sum == int64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("commits %v do not reach %d inputs", c, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func firstLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// syncBuilder is a strings.Builder a child process's output can be written
// to while the test reads it.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
