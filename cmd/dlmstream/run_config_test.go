//go:build !nobeam

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dlmstream"
)

// TestApplyConfig: a YAML file sets the flags the command line left
// alone, lists become comma-separated values, and bad keys or values are
// one-line errors naming the file and the key.
func TestApplyConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "pipeline: caption\ninput-topics: [images, more-images]\nstreaming: true\nmax-new: 48\ndrain-timeout: 45s\nbrokers: a:9092,b:9092\n")
	for _, c := range []struct {
		name    string
		args    []string
		want    func(f *runFlags) bool
		wantErr string
	}{
		{"file values", []string{"--config", good}, func(f *runFlags) bool {
			return f.opts.Name == "caption" && f.inTopics == "images,more-images" && f.opts.Streaming &&
				f.opts.Transforms.MaxNewTokens == 48 && f.drainTimeout == 45*time.Second && f.brokers == "a:9092,b:9092"
		}, ""},
		{"command line wins", []string{"--max-new=7", "--config=" + good, "--pipeline", "extraction"}, func(f *runFlags) bool {
			return f.opts.Name == "extraction" && f.opts.Transforms.MaxNewTokens == 7 && f.opts.Streaming
		}, ""},
		{"unknown key", []string{"--config", write("unknown.yaml", "pipline: caption\n")}, nil, `unknown option "pipline"`},
		{"bad value", []string{"--config", write("bad.yaml", "max-new: lots\n")}, nil, "max-new"},
		{"map value", []string{"--config", write("map.yaml", "brokers: {a: 1}\n")}, nil, "brokers"},
		{"nested config", []string{"--config", write("self.yaml", "config: other.yaml\n")}, nil, "cannot name another"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "nope.yaml"},
		{"not yaml", []string{"--config", write("junk.yaml", "pipeline: [\n")}, nil, "junk.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			var f runFlags
			f.register(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			err := applyConfig(fs, configPath(c.args))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.want(&f) {
				t.Errorf("flags after config: %+v", f)
			}
		})
	}
}

// TestRunChecksPaths: missing checkpoints and files are refused before
// the job is built, in one line naming the flag and the path; the bundled
// checkpoint is found through $DLMSTREAM_MODELS from another directory.
func TestRunChecksPaths(t *testing.T) {
	t.Setenv(EnvModels, "")
	tmp := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing model", []string{"--pipeline", "extraction", "--model", filepath.Join(tmp, "none"), "--input-glob", "*.go", "--output-path", filepath.Join(tmp, "o.jsonl")}, "--model: no checkpoint"},
		{"missing speech model", []string{"--pipeline", "extraction", "--model", demoTextModel, "--speech-model", filepath.Join(tmp, "none"), "--input-glob", "*.go", "--output-path", filepath.Join(tmp, "o.jsonl")}, "--speech-model: no checkpoint"},
		{"missing vision model", []string{"--pipeline", "extraction", "--model", demoTextModel, "--vision-model", filepath.Join(tmp, "none"), "--input-glob", "*.go", "--output-path", filepath.Join(tmp, "o.jsonl")}, "--vision-model: no checkpoint"},
		{"glob matches nothing", []string{"--pipeline", "extraction", "--model", demoTextModel, "--input-glob", filepath.Join(tmp, "*.txt"), "--output-path", filepath.Join(tmp, "o.jsonl")}, "matches no file"},
		{"output folder is a file", []string{"--pipeline", "extraction", "--model", demoTextModel, "--input-glob", "*.go", "--output-path", filepath.Join("run.go", "o.jsonl")}, "does not exist"},
		{"output folder read-only", []string{"--pipeline", "extraction", "--model", demoTextModel, "--input-glob", "*.go", "--output-path", "/proc/o.jsonl"}, "folder /proc does not take new files"},
		{"output folder missing", []string{"--pipeline", "extraction", "--model", demoTextModel, "--input-glob", "*.go", "--output-path", filepath.Join(tmp, "no", "o.jsonl")}, "does not exist"},
		{"tls ca missing", []string{"--pipeline", "caption", "--model", demoTextModel, "--brokers", "127.0.0.1:1", "--input-topics", "x", "--output-topic", "y", "--dlq-topic", "z", "--tls-ca", filepath.Join(tmp, "ca.pem")}, "--tls-ca"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := runRun(c.args, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, c.want)
			}
		})
	}
	// From another directory, the default --model resolves under $DLMSTREAM_MODELS.
	abs, err := filepath.Abs(filepath.Dir(demoTextModel))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvModels, abs)
	got, err := resolveModel("model", "testdata/models/demo-text")
	if err != nil || got != filepath.Join(abs, "demo-text") {
		t.Fatalf("resolveModel = %q, %v; want %s", got, err, filepath.Join(abs, "demo-text"))
	}
	// Without it, from a directory that is not the repository, the default
	// and a bare demo name resolve to the checkpoint bundled in the binary,
	// kept by its bundled name so that every worker resolves it alike;
	// a name that is not bundled is still refused.
	t.Setenv(EnvModels, "")
	t.Setenv(dlmstream.EnvCacheDir, t.TempDir())
	t.Chdir(tmp)
	for _, name := range []string{"testdata/models/demo-text", "demo-vision"} {
		if got, err := resolveModel("model", name); err != nil || got != name {
			t.Errorf("resolveModel(%s) = %q, %v; want the bundled name", name, got, err)
		}
		if got, err := modelOnDisk("model", name); err != nil || !isCheckpoint(got) {
			t.Errorf("modelOnDisk(%s) = %q, %v; want a checkpoint folder", name, got, err)
		}
	}
	if _, err := resolveModel("model", "testdata/models/tiny-sdar"); err == nil || !strings.Contains(err.Error(), "--model: no checkpoint") {
		t.Errorf("a checkpoint that is not bundled: %v", err)
	}
	if got, err := resolveInputDir("scenes", "testdata/demo/vision"); err != nil {
		t.Errorf("resolveInputDir: %v", err)
	} else if _, err := os.Stat(filepath.Join(got, "manifest.jsonl")); err != nil {
		t.Errorf("resolveInputDir = %q: %v", got, err)
	}
	if _, err := resolveInputDir("scenes", "testdata/elsewhere"); err == nil || !strings.Contains(err.Error(), "--scenes") {
		t.Errorf("an input folder that is missing: %v", err)
	}
}

// TestRunHelpListsOptions: run --help lists every option with its default
// and never prints the SASL password taken from the environment.
func TestRunHelpListsOptions(t *testing.T) {
	t.Setenv("DLMSTREAM_SASL_PASSWORD", "hunter2-secret")
	var out, errb bytes.Buffer
	_ = runRun([]string{"--help"}, &out, &errb)
	help := errb.String()
	if strings.Contains(help, "hunter2") {
		t.Fatal("help prints the SASL password")
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f runFlags
	f.register(fs)
	fs.VisitAll(func(fl *flag.Flag) {
		if !strings.Contains(help, "-"+fl.Name) {
			t.Errorf("help lacks -%s", fl.Name)
		}
	})
	if got := f.options().Kafka.SASLPassword; got != "hunter2-secret" {
		t.Errorf("password from the environment = %q", got)
	}
}

// TestSetupLogs: JSON logs are one JSON object per line; warnings pass
// and info lines only with -v, also after beam.Init (which resets slog's
// default handler each time it runs).
func TestInitBeamLogs(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	for _, c := range []struct {
		format  string
		verbose bool
		info    bool
	}{{"json", false, false}, {"json", true, true}, {"text", false, false}} {
		var b bytes.Buffer
		if err := initBeam(c.format, logLevel(c.verbose), &b); err != nil {
			t.Fatal(err)
		}
		slog.Info("info line")
		slog.Warn("warn line", "k", 1)
		if got := strings.Contains(b.String(), "info line"); got != c.info {
			t.Errorf("%s verbose=%v: info shown %v", c.format, c.verbose, got)
		}
		if c.format == "json" {
			for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil {
					t.Errorf("not a JSON log line: %q (%v)", l, err)
				}
			}
		}
	}
	if err := initBeam("xml", slog.LevelWarn, io.Discard); err == nil {
		t.Error("log format xml accepted")
	}
}
