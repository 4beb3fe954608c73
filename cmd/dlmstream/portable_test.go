//go:build !nobeam

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/files"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/transforms"

	kgo "github.com/segmentio/kafka-go"
)

// TestUniversalRunner submits the extraction and caption pipelines through Beam's Job
// API to prism running as a separate job-server process (deploy/prism/jobserver.sh),
// with each worker environment prism supports for Go, and checks that the records
// equal those of the same run on the in-process prism runner (and the scenes' known
// captions). Files in, JSON Lines out; then one run from and to an in-process Kafka
// broker. Nothing leaves 127.0.0.1. Skips only when the prism binary cannot be built.
func TestUniversalRunner(t *testing.T) {
	endpoint := startJobServer(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pool := startWorkerPool(t, self)
	command, err := json.Marshal(map[string]string{"command": self})
	if err != nil {
		t.Fatal(err)
	}
	process := []string{"--environment_type", "PROCESS", "--environment_config", string(command), "--worker_binary", self}
	texts, images := extractionInputs(t), captionInputs(t)
	pipelines := map[string]struct{ glob, model string }{
		"extraction": {filepath.Join(texts, "*.txt"), mustAbs(t, demoTextModel)},
		"caption":    {filepath.Join(images, "*"), mustAbs(t, demoVision)},
	}
	want := map[string][]string{} // in-process prism's records, by pipeline
	for name, p := range pipelines {
		want[name] = runRecords(t, name, p.glob, p.model, "prism")
	}
	checkCaptions(t, want["caption"])
	tests := []struct {
		pipeline string
		env      []string // Beam flags after --endpoint
	}{
		{"extraction", []string{"--environment_type", "LOOPBACK"}},
		{"caption", []string{"--environment_type", "LOOPBACK"}},
		// The test binary is the PROCESS command and the EXTERNAL worker pool: its
		// init (run_portable.go) serves as the harness, as the dlmstream binary's does.
		{"extraction", process},
		{"caption", process},
		{"extraction", []string{"--environment_type", "EXTERNAL", "--environment_config", pool, "--worker_binary", self}},
	}
	for _, tt := range tests {
		t.Run(tt.pipeline+"/"+tt.env[1], func(t *testing.T) {
			p := pipelines[tt.pipeline]
			start := time.Now()
			got := runRecords(t, tt.pipeline, p.glob, p.model, "universal", append([]string{"--endpoint", endpoint}, tt.env...)...)
			t.Logf("%s on the job server (%s): %s", tt.pipeline, tt.env[1], time.Since(start).Round(time.Millisecond))
			if strings.Join(got, "\n") != strings.Join(want[tt.pipeline], "\n") {
				t.Fatalf("records differ from the in-process prism runner's:\ngot:\n%s\nwant:\n%s",
					strings.Join(got, "\n"), strings.Join(want[tt.pipeline], "\n"))
			}
		})
	}
	// Kafka in and out: the bounded Kafka source and sink in a worker process of their own;
	// each input's offset is committed once its result or dead letter is written.
	t.Run("caption-kafka/PROCESS", func(t *testing.T) {
		captionKafka(t, mustAbs(t, demoVision), append([]string{"--endpoint", endpoint}, process...)...)
	})
}

// captionKafka produces the demo images (three scenes, two bad) to a topic of an
// in-process broker, runs the caption pipeline from it to output and dead-letter topics
// with beamArgs, and checks the captions, the dead letters and the committed offsets.
func captionKafka(t *testing.T, model string, beamArgs ...string) {
	t.Helper()
	saveBeamFlags(t)
	target := kafkatest.Embedded(t, 2)
	in, out, dlq, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
	for _, topic := range []string{in, out, dlq} {
		kafkatest.CreateTopic(t, target.Brokers, topic, 2)
	}
	inputs, refs, err := demoInputs(demoSchemas, demoMediaSchemas, demoClips, demoScenes)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kgo.Message
	for _, e := range inputs[demoImages] {
		msgs = append(msgs, toMessage(e))
	}
	kafkatest.Produce(t, target.Brokers, in, msgs...)
	args := []string{"--pipeline", "caption", "--runner", "universal", "--brokers", strings.Join(target.Brokers, ","),
		"--input-topics", in, "--output-topic", out, "--dlq-topic", dlq, "--group", group,
		"--model", model, "--progress=false", "--timeout", "4m", "--"}
	var stdout, stderr bytes.Buffer
	if err := runRun(append(args, beamArgs...), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	results := kafkatest.ReadAll(t, target.Brokers, out, 3, 20*time.Second)
	dead := kafkatest.ReadAll(t, target.Brokers, dlq, 2, 20*time.Second)
	if len(results) != 3 || len(dead) != 2 {
		t.Fatalf("%d captions and %d dead letters, want 3 and 2", len(results), len(dead))
	}
	for _, m := range results {
		var o transforms.Output
		if err := json.Unmarshal(m.Value, &o); err != nil {
			t.Fatal(err)
		}
		if o.Text != refs[o.RequestID] {
			t.Errorf("%s: caption %q, want %q", o.RequestID, o.Text, refs[o.RequestID])
		}
	}
	committed := kafkatest.Committed(t, target.Brokers, group, in, 2)
	if committed[0]+committed[1] != int64(len(msgs)) {
		t.Fatalf("committed %v, want offsets summing to %d", committed, len(msgs))
	}
}

// startJobServer starts prism as a job server in its own process with
// deploy/prism/jobserver.sh, stopped when the test ends, and returns its endpoint.
func startJobServer(t *testing.T) string {
	t.Helper()
	script := mustAbs(t, "../../deploy/prism/jobserver.sh")
	env := append(os.Environ(), "PRISM_RUN_DIR="+t.TempDir())
	build := exec.Command(script, "build")
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("cannot build the prism job server: %v\n%s", err, out)
	}
	start := exec.Command(script, "start")
	start.Env = env
	var stderr bytes.Buffer
	start.Stderr = &stderr
	out, err := start.Output()
	if err != nil {
		t.Fatalf("jobserver.sh start: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		stop := exec.Command(script, "stop")
		stop.Env = env
		if out, err := stop.CombinedOutput(); err != nil {
			t.Errorf("jobserver.sh stop: %v\n%s", err, out)
		}
	})
	endpoint := strings.TrimSpace(string(out))
	if !strings.HasPrefix(endpoint, "127.0.0.1:") {
		t.Fatalf("jobserver.sh start printed %q, want 127.0.0.1:PORT", out)
	}
	return endpoint
}

// startWorkerPool runs bin --worker_pool on a free port until the test ends and returns
// the pool's address.
func startWorkerPool(t *testing.T, bin string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--worker_pool", "--worker_pool_port=0")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := cmd.Wait(); err != nil && ctx.Err() == nil {
			t.Errorf("worker pool: %v\n%s", err, stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "worker pool: "); ok {
				addr <- a
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("worker pool exited before listening:\n%s", stderr.String())
		}
		return a
	case <-time.After(30 * time.Second):
		t.Fatalf("worker pool not listening in 30 s:\n%s", stderr.String())
	}
	return ""
}

// runRecords runs `dlmstream run` on runner with Beam flags beamArgs and returns the
// results and dead letters as sorted JSON lines, without their timings. Beam's
// flags are global: the ones a run sets are put back afterwards.
func runRecords(t *testing.T, pipeline, glob, model, runner string, beamArgs ...string) []string {
	t.Helper()
	saveBeamFlags(t)
	outPath := filepath.Join(t.TempDir(), "out.jsonl")
	args := []string{"--pipeline", pipeline, "--runner", runner, "--input-glob", glob, "--output-path", outPath,
		"--model", model, "--progress=false", "--timeout", "4m"}
	var stdout, stderr bytes.Buffer
	if err := runRun(append(append(args, "--"), beamArgs...), &stdout, &stderr); err != nil {
		t.Fatalf("run --runner %s %s: %v\n%s", runner, strings.Join(beamArgs, " "), err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "pipeline "+pipeline+" done") {
		t.Fatalf("run output:\n%s", stdout.String())
	}
	var lines []string
	for _, p := range []string{outPath, strings.TrimSuffix(outPath, ".jsonl") + ".dlq.jsonl"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				lines = append(lines, withoutTimings(t, l))
			}
		}
	}
	sort.Strings(lines)
	return lines
}

// saveBeamFlags puts back, when the test ends, the global Beam flags a run sets.
func saveBeamFlags(t *testing.T) {
	t.Helper()
	for _, name := range []string{"endpoint", "environment_type", "environment_config", "worker_binary"} {
		f := flag.Lookup(name)
		if f == nil {
			t.Fatalf("no Beam flag --%s", name)
		}
		old := f.Value.String()
		t.Cleanup(func() { _ = flag.Set(name, old) })
	}
}

// withoutTimings drops what differs from run to run: the engine-ms header and the
// engine_ms field of a result.
func withoutTimings(t *testing.T, line string) string {
	t.Helper()
	var r files.Record
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("record %s: %v", line, err)
	}
	delete(r.Headers, "engine-ms")
	if r.Value != nil {
		var v map[string]any
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("record value %s: %v", r.Value, err)
		}
		delete(v, "engine_ms")
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r.Value = b
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkCaptions checks the reference run against the scenes' known captions: one result
// per scene with its manifest caption, and one dead letter (the truncated image).
func checkCaptions(t *testing.T, records []string) {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(demoScenes, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		var m struct{ Image, Caption string }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		want[m.Image] = m.Caption
	}
	dead := 0
	for _, l := range records {
		var r files.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Headers["dlq-reason"] != "" {
			dead++
			continue
		}
		var o transforms.Output
		if err := json.Unmarshal(r.Value, &o); err != nil {
			t.Fatal(err)
		}
		if c := want[filepath.Base(r.Key)]; o.Text != c {
			t.Errorf("%s: caption %q, want %q", filepath.Base(r.Key), o.Text, c)
		}
	}
	if dead != 1 || len(records) != len(want)+1 {
		t.Errorf("%d records with %d dead letters, want %d and 1", len(records), dead, len(want)+1)
	}
}

// extractionInputs writes one text per demo schema plus one without a schema (a dead
// letter) and returns the directory.
func extractionInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range demoTexts {
		schema, err := os.ReadFile(filepath.Join(demoSchemas, d.schema+".json"))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, d.schema+".txt"), []byte(d.text))
		mustWrite(t, filepath.Join(dir, d.schema+".schema.json"), schema)
	}
	mustWrite(t, filepath.Join(dir, "unlabelled.txt"), []byte("A text without a schema."))
	return dir
}

// captionInputs copies the demo scenes and a truncated image into a directory.
func captionInputs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(demoScenes)
	if err != nil {
		t.Fatal(err)
	}
	var png []byte
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".png", ".jpg", ".webp":
			b, err := os.ReadFile(filepath.Join(demoScenes, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dir, e.Name()), b)
			if filepath.Ext(e.Name()) == ".png" {
				png = b
			}
		}
	}
	if png == nil {
		t.Fatalf("no PNG scene in %s", demoScenes)
	}
	mustWrite(t, filepath.Join(dir, "truncated.png"), png[:len(png)/3])
	return dir
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
