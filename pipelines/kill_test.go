package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	kgo "github.com/segmentio/kafka-go"
)

// The kill test runs one of the three pipelines in a child process (this
// test binary, re-executed) as a streaming job, SIGKILLs it at a random
// moment (while prism starts, while it reads, mid-batch, after it has
// caught up), then runs the same pipeline as a bounded job from the
// group's commits to the end, and checks every input has its result or
// dead letter. The trials cycle through the pipelines; the seed is logged
// and DLMSTREAM_KILL_SEED repeats a run.
const (
	envKillChild = "DLMSTREAM_KILL_CHILD" // pipeline|brokers|in|out|dlq|group|mode (stream, finish, slow)
	killTrials   = 21
	killInputs   = 120
	killWork     = 10 * time.Millisecond // the engine double's time per request
	killWithin   = 4 * time.Second       // the kill lands in [0, killWithin) after the child starts
)

func killChild() int {
	flag.Parse()
	beam.Init()
	a := strings.Split(os.Getenv(envKillChild), "|")
	name, brokers, in, out, dlq, group, mode := a[0], strings.Split(a[1], ","), a[2], a[3], a[4], a[5], a[6]
	model, work := "test:kill-echo", killWork
	if mode == "slow" { // the outage test: a stream that lasts a minute
		work = 100 * time.Millisecond
	}
	transforms.RegisterGenerator(model, echoEngine{delay: work})
	p, s := beam.NewPipelineWithRoot()
	err := Build(s, Options{Name: name, Kafka: kafka.Config{Brokers: brokers}, InputTopics: []string{in},
		Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq, Streaming: mode != "finish",
		Transforms: transforms.Config{Model: model, MaxInFlight: 4}, Sink: kafka.SinkConfig{BatchSize: 10}})
	if err == nil {
		_, err = beam.Run(context.Background(), "prism", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kill child:", err)
		return 1
	}
	return 0
}

// killInput is input i of a pipeline's trial; every tenth is a dead letter.
func killInput(t *testing.T, name string, i int, wav, png []byte) kgo.Message {
	id := []kgo.Header{{Key: kafka.HeaderRequestID, Value: []byte("req-" + strconv.Itoa(i))}}
	bad := i%10 == 9
	switch name {
	case Transcription:
		v := wav
		if bad {
			v = []byte("RIFF but not audio")
		}
		return kgo.Message{Key: []byte(strconv.Itoa(i)), Value: v, Headers: append(id,
			kgo.Header{Key: kafka.HeaderContentType, Value: []byte("audio/wav")},
			kgo.Header{Key: kafka.HeaderDraftTranscript, Value: []byte("draft " + strconv.Itoa(i))})}
	case Caption:
		v := png
		if bad {
			v = png[:len(png)/2]
		}
		return kgo.Message{Key: []byte(strconv.Itoa(i)), Value: v, Headers: append(id,
			kgo.Header{Key: kafka.HeaderContentType, Value: []byte("image/png")})}
	default:
		schema := `{"type":"object","properties":{"n":{"type":"integer"}}}`
		if bad {
			schema = `{"type":"wrong"}`
		}
		return kgo.Message{Key: []byte(strconv.Itoa(i)), Value: []byte("record number " + strconv.Itoa(i)), Headers: append(id,
			kgo.Header{Key: kafka.HeaderContentType, Value: []byte("text/plain")},
			kgo.Header{Key: kafka.HeaderSchema, Value: []byte(schema)})}
	}
}

// finals counts each request id's final results and dead letters (the
// partial records a streaming caption or transcript sends are not counted).
func finals(t *testing.T, brokers []string, out, dlq string) (map[string]int, int) {
	ids, total, err := readFinals(brokers, out, dlq)
	if err != nil {
		t.Fatal(err)
	}
	return ids, total
}

// settled counts the final records once the dead child's last writes are in:
// a produce request it had handed to the kernel before the SIGKILL can reach
// the broker after the process is gone, so the count is taken when two reads
// half a second apart agree.
func settled(t *testing.T, brokers []string, out, dlq string) int {
	_, n := finals(t, brokers, out, dlq)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		_, again := finals(t, brokers, out, dlq)
		if again == n {
			return n
		}
		n = again
	}
	return n
}

func readFinals(brokers []string, out, dlq string) (map[string]int, int, error) {
	ids := map[string]int{}
	total := 0
	for _, topic := range []string{out, dlq} {
		msgs, err := kafkatest.ReadTopic(context.Background(), brokers, topic, -1, 30*time.Second)
		if errors.Is(err, kgo.UnknownTopicOrPartition) {
			continue // a fault test's topic that does not exist yet
		}
		if err != nil {
			return nil, 0, err
		}
		for _, m := range msgs {
			if topic == out {
				var o transforms.Output
				if json.Unmarshal(m.Value, &o) != nil || !o.Final {
					continue
				}
			}
			total++
			for _, h := range m.Headers {
				if h.Key == kafka.HeaderRequestID {
					ids[string(h.Value)]++
				}
			}
		}
	}
	return ids, total, nil
}

// TestSIGKILLAtRandomPoints: 21 trials over the three pipelines on the real
// broker. Every trial: missing = 0, and the duplicates are at most what had
// been written and not yet committed when the child died (the in-flight
// window: the records whose offsets the restart reads again).
func TestSIGKILLAtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process fault test")
	}
	tg := kafkatest.Real(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DLMSTREAM_KILL_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (DLMSTREAM_KILL_SEED repeats it)", seed)
	rng := rand.New(rand.NewPCG(seed, 0x6b696c6c))
	wav := wavTone(t, 16000, 0.25)
	png := pngBytes(t, 24, 16)
	names := []string{Extraction, Caption, Transcription}
	totalDup, totalMissing := 0, 0
	for trial := range killTrials {
		name := names[trial%len(names)]
		at := time.Duration(rng.Int64N(int64(killWithin)))
		t.Run(fmt.Sprintf("%02d-%s", trial, name), func(t *testing.T) {
			in, out, dlq, group := kafkatest.Topic(t, "kin"), kafkatest.Topic(t, "kout"), kafkatest.Topic(t, "kdlq"), kafkatest.Topic(t, "kg")
			for _, topic := range []string{in, out, dlq} {
				kafkatest.CreateTopic(t, tg.Brokers, topic, 4)
			}
			msgs := make([]kgo.Message, killInputs)
			for i := range msgs {
				msgs[i] = killInput(t, name, i, wav, png)
			}
			kafkatest.Produce(t, tg.Brokers, in, msgs...)
			env := strings.Join([]string{name, strings.Join(tg.Brokers, ","), in, out, dlq, group}, "|")
			child := func(mode string) *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), envKillChild+"="+env+"|"+mode)
				return cmd
			}
			first := child("stream")
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(at)
			if err := first.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			first.Wait()
			atKill := settled(t, tg.Brokers, out, dlq)
			var committed int64
			for _, c := range kafkatest.Committed(t, tg.Brokers, group, in, 4) {
				committed += max(c, 0)
			}
			var logs strings.Builder
			second := child("finish")
			second.Stdout, second.Stderr = &logs, &logs
			if err := second.Run(); err != nil {
				t.Fatalf("restart: %v\n%s", err, tail(logs.String(), 3000))
			}
			ids, total := finals(t, tg.Brokers, out, dlq)
			missing := 0
			for i := range killInputs {
				if ids["req-"+strconv.Itoa(i)] == 0 {
					missing++
				}
			}
			dup := total - len(ids)
			inFlight := atKill - int(committed)
			t.Logf("%s killed at %s: %d written, %d committed; after restart %d records (%d distinct), missing %d, duplicates %d (bound %d)",
				name, at.Round(time.Millisecond), atKill, committed, total, len(ids), missing, dup, max(inFlight, 0))
			totalDup += dup
			totalMissing += missing
			if missing != 0 {
				t.Errorf("missing %d of %d inputs", missing, killInputs)
			}
			if dup > max(inFlight, 0) {
				t.Errorf("duplicates %d > %d written and not committed at the kill", dup, inFlight)
			}
		})
	}
	t.Logf("%d SIGKILL trials over the three pipelines: missing %d, duplicates %d", killTrials, totalMissing, totalDup)
}

// wavTone is a 16-bit mono PCM WAV of a 440 Hz tone.
func wavTone(t *testing.T, rate int, seconds float64) []byte {
	n := int(float64(rate) * seconds)
	b := make([]byte, 44+2*n)
	le := func(off int, v uint32, size int) {
		for i := range size {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	copy(b, "RIFF")
	le(4, uint32(36+2*n), 4)
	copy(b[8:], "WAVEfmt ")
	le(16, 16, 4)
	le(20, 1, 2) // PCM
	le(22, 1, 2) // mono
	le(24, uint32(rate), 4)
	le(28, uint32(2*rate), 4)
	le(32, 2, 2)
	le(34, 16, 2)
	copy(b[36:], "data")
	le(40, uint32(2*n), 4)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		le(44+2*i, uint32(uint16(v)), 2)
	}
	return b
}
