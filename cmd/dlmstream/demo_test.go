//go:build !nobeam

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dlmstream"
	"dlmstream/connectors/files"
	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/transforms"

	kgo "github.com/segmentio/kafka-go"
)

// TestDemo runs `dlmstream demo` end to end as a new user does after `go
// install`: from a directory that is not the repository, no path flags, no
// $DLMSTREAM_MODELS, an empty cache. The checkpoints and inputs come from
// the binary; in-process broker, three pipelines on prism, results and dead
// letters read back.
func TestDemo(t *testing.T) {
	t.Setenv(EnvModels, "")
	t.Setenv(dlmstream.EnvCacheDir, t.TempDir())
	t.Chdir(t.TempDir())
	var out, errb bytes.Buffer
	if err := runDemo([]string{"--progress=false"}, &out, &errb); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if strings.Contains(errb.String(), "level=") {
		t.Errorf("runner log lines on the demo's terminal:\n%s", errb.String())
	}
	s := out.String()
	for _, want := range []string{
		"19 inputs -> 14 results + 5 dead letters",
		"demo-transcripts (5):", "demo-captions (3):", "demo-extractions (6):",
		"audio-5    decode/not-audio", "audio-6    decode/truncated", "image-4    decode/truncated",
		"image-5    decode/too-many-pixels", "text-5     decode/invalid-schema",
		"tokens, ",
		// The demo text checkpoint fills each record kind's scaffold (valid by construction).
		`"order_id":`, `"first_name":`, `"title":`, `"device_id":`,
		// The demo speech checkpoint hears the clips (WAV, stereo 44.1 kHz FLAC, MP3; one
		// with a draft transcript as its prior) and transcribes each exactly.
		`audio-1    "nine hundred and fifty nine"`, `audio-2    "turn on the hallway oven"`,
		`audio-3    "paul lives in paris"`, `audio-4    "emma sells the green book"`,
		"prior ctc", "prior draft",
		// Two of the clips again as a live stream of 250 ms audio/L16 chunks: partial
		// transcripts as the utterances end, then the whole.
		"(one a live stream of 19 audio/L16 chunks)",
		`live-1     live stream of 19 chunks, as it formed: "nine hundred and`,
		`live-1     "nine hundred and fifty nine emma sells the green book"`,
		// The demo vision checkpoint sees the scenes (PNG, JPEG, WebP) and captions each exactly.
		`image-1    "two blue circles on the left, a green circle in the center and three green triangles on the right"`,
		`image-2    "three red squares on the left, a yellow circle at the top and a green square at the bottom, with the number 9 in the center"`,
		`image-3    "three purple squares on the left, a purple triangle at the top and a green circle in the center, with the number 7 at the bottom"`,
		// A spoken command and a pictured scene through the extraction pipeline: transcribed
		// or captioned first, then extracted against their schemas.
		`speech-1   from the transcript "turn on the hallway oven": {"action":"turn on","device":"oven","room":"hallway"}  right`,
		`scene-1    from the caption "two blue circles on the left, a green circle in the center and three green triangles on the right": {"left":"two blue circles","center":"a green circle","right":"three green triangles"}  right`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo output lacks %q:\n%s", want, s)
		}
	}
	// Every transcript and caption matches its reference, and every
	// extraction the record its input holds.
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "WRONG") {
			t.Errorf("a demo result differs from its reference: %s", l)
		}
	}
	ids := []string{}
	for i := range demoTexts {
		ids = append(ids, fmt.Sprintf("text-%d", i+1))
	}
	for _, d := range demoMedia {
		ids = append(ids, d.id)
	}
	for _, id := range ids {
		if !strings.Contains(s, fmt.Sprintf("  %-10s {", id)) && !strings.Contains(s, fmt.Sprintf("  %-10s from the ", id)) {
			t.Errorf("no extraction line for %s", id)
		}
	}
}

// TestRunFilesToJSONL runs `dlmstream run` on a directory of texts.
func TestRunFilesToJSONL(t *testing.T) {
	dir := t.TempDir()
	schema := `{"type":"object","properties":{"title":{"type":"string"}}}`
	for name, data := range map[string]string{
		"a.txt": "Dune, 1965", "a.schema.json": schema,
		"b.txt": "Emma, 1815", // no schema: a dead letter
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outPath := filepath.Join(dir, "results.jsonl")
	// Outside the repository, relative paths, the default --model: the
	// demo-text checkpoint bundled in the binary.
	t.Setenv(EnvModels, "")
	t.Setenv(dlmstream.EnvCacheDir, t.TempDir())
	t.Chdir(dir)
	var out, errb bytes.Buffer
	err := runRun([]string{"--pipeline", "extraction", "--input-glob", "*.txt",
		"--output-path", "results.jsonl", "--max-new", "8"}, &out, &errb)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	var r files.Record
	if err := json.Unmarshal(bytes.TrimSpace(b), &r); err != nil {
		t.Fatalf("results %q: %v", b, err)
	}
	var o transforms.Output
	if err := json.Unmarshal(r.Value, &o); err != nil || o.Tokens == 0 || o.Task != transforms.KindExtract || o.RequestID == "" {
		t.Fatalf("result %+v (%v)", o, err)
	}
	// Extraction fills the schema's scaffold: the record is a JSON object
	// with (at most) the schema's one property, a string.
	var rec map[string]any
	if err := json.Unmarshal(o.JSON, &rec); err != nil {
		t.Fatalf("extracted %q is not a JSON object: %v", o.JSON, err)
	}
	for k, v := range rec {
		if _, ok := v.(string); k != "title" || !ok {
			t.Fatalf("extracted %s does not follow the schema", o.JSON)
		}
	}
	dlq, err := os.ReadFile(filepath.Join(dir, "results.dlq.jsonl"))
	if err != nil || !strings.Contains(string(dlq), `"dlq-reason":"invalid-schema"`) {
		t.Fatalf("dead letters %q (%v)", dlq, err)
	}
	if !strings.Contains(out.String(), "pipeline extraction done") || !strings.Contains(out.String(), "engine.out") {
		t.Fatalf("run output:\n%s", out.String())
	}
}

// TestRunKafkaCaption runs `dlmstream run --pipeline caption` against a broker: the
// in-process one always, the real one when DLMSTREAM_KAFKA_BROKERS is set.
func TestRunKafkaCaption(t *testing.T) {
	targets := map[string]func(testing.TB) kafkatest.Target{
		"kfake": func(t testing.TB) kafkatest.Target { return kafkatest.Embedded(t, 2) },
		"kafka": kafkatest.Real,
	}
	for _, name := range []string{"kfake", "kafka"} {
		t.Run(name, func(t *testing.T) {
			target := targets[name](t)
			in, out, dlq := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq")
			for _, topic := range []string{in, out, dlq} {
				kafkatest.CreateTopic(t, target.Brokers, topic, 2)
			}
			inputs, _, err := demoInputs(demoSchemas, demoMediaSchemas, demoClips, demoScenes)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []kgo.Message
			for _, e := range inputs[demoImages] {
				msgs = append(msgs, toMessage(e))
			}
			kafkatest.Produce(t, target.Brokers, in, msgs...)
			var stdout, stderr bytes.Buffer
			err = runRun([]string{"--pipeline", "caption", "--brokers", strings.Join(target.Brokers, ","),
				"--input-topics", in, "--output-topic", out, "--dlq-topic", dlq, "--group", kafkatest.Topic(t, "g"),
				"--model", tinySDAR, "--max-new", "4"}, &stdout, &stderr)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			if got := len(kafkatest.ReadAll(t, target.Brokers, out, 3, 20*time.Second)); got != 3 {
				t.Fatalf("%d captions, want 3", got)
			}
			if got := len(kafkatest.ReadAll(t, target.Brokers, dlq, 2, 20*time.Second)); got != 2 {
				t.Fatalf("%d dead letters, want 2", got)
			}
			if !strings.Contains(stderr.String(), "5/5 inputs") {
				t.Errorf("no finished progress bar on stderr: %q", stderr.String())
			}
		})
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		done, total int64
		want        string
	}{
		{0, 10, "[>         ]"},
		{5, 10, "[=====>    ]"},
		{10, 10, "[==========]"},
		{3, 0, "[==========]"},
	}
	for _, tt := range tests {
		if got := bar(tt.done, tt.total, 10); got != tt.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}

func toMessage(e kafka.Envelope) kgo.Message {
	m := kgo.Message{Key: e.Key, Value: e.Value}
	for _, h := range e.Headers {
		m.Headers = append(m.Headers, kgo.Header{Key: h.Key, Value: h.Value})
	}
	return m
}

func TestRunRejectsRunners(t *testing.T) {
	base := []string{"--pipeline", "caption", "--brokers", "127.0.0.1:1", "--input-topics", "in", "--output-topic", "out", "--dlq-topic", "dlq"}
	for runner, want := range map[string]string{
		"spark":    `unknown runner "spark"`,
		"dataflow": "-tags dataflow",
	} {
		if runners[runner] {
			continue // this binary was built with the runner
		}
		var out, errb bytes.Buffer
		err := runRun(append(base, "--runner", runner), &out, &errb)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--runner %s: %v, want error containing %q", runner, err, want)
		}
	}
}

// TestRunStreaming runs the unbounded source until the job has drained the topic and
// stops by itself (--stop-after-idle).
func TestRunStreaming(t *testing.T) {
	tg := kafkatest.Embedded(t, 2)
	in, out, dlq := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, tg.Brokers, topic, 2)
	}
	inputs, _, err := demoInputs(demoSchemas, demoMediaSchemas, demoClips, demoScenes)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kgo.Message
	for _, e := range demoTextsOnly(inputs) {
		msgs = append(msgs, toMessage(e))
	}
	kafkatest.Produce(t, tg.Brokers, in, msgs...)
	var stdout, stderr bytes.Buffer
	err = runRun([]string{"--pipeline", "extraction", "--streaming", "--stop-after-idle", "3s", "--brokers", strings.Join(tg.Brokers, ","),
		"--input-topics", in, "--output-topic", out, "--dlq-topic", dlq, "--start", "earliest",
		"--model", tinySDAR, "--max-new", "4"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	results := kafkatest.ReadAll(t, tg.Brokers, out, len(demoTexts), 10*time.Second)
	dead := kafkatest.ReadAll(t, tg.Brokers, dlq, 1, 10*time.Second)
	if len(results) != len(demoTexts) || len(dead) != 1 {
		t.Fatalf("%d results, %d dead letters; want %d and 1", len(results), len(dead), len(demoTexts))
	}
	if !strings.Contains(stdout.String(), "pipeline extraction done") {
		t.Fatalf("stdout: %s", stdout.String())
	}
}
