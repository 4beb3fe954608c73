package pipelines

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"dlmstream/connectors/files"
	"dlmstream/engine"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// faultEngine answers as echoEngine does; its first Generate calls fault
// (once): the output folder breaks after the job has started and before
// the sinks write, which is only after every result exists (bounded job,
// the sinks group all records first).
type faultEngine struct {
	echoEngine
	once  *sync.Once
	fault func() error
	done  chan error // fault's result
}

func (e faultEngine) Generate(ctx context.Context, req engine.Request) (engine.Result, error) {
	e.once.Do(func() { e.done <- e.fault() })
	return e.echoEngine.Generate(ctx, req)
}

// canCreate reports whether this process can create a file in dir.
func canCreate(dir string) bool {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// readOnlyMethod finds how this process can make a folder read-only: chmod
// 0555, or for root (whom modes do not stop) chattr +i; "" if neither.
func readOnlyMethod(t *testing.T) string {
	dir := t.TempDir()
	for _, how := range []string{"chmod", "chattr"} {
		err := setReadOnly(how, dir, true)
		ok := err == nil && !canCreate(dir)
		setReadOnly(how, dir, false)
		if ok {
			return how
		}
	}
	return ""
}

func setReadOnly(how, dir string, on bool) error {
	switch {
	case how == "chmod" && on:
		return os.Chmod(dir, 0o555)
	case how == "chmod":
		return os.Chmod(dir, 0o755)
	case on:
		return exec.Command("chattr", "+i", dir).Run()
	}
	return exec.Command("chattr", "-i", dir).Run()
}

// sinkFault is one way the output folder fails.
type sinkFault struct {
	name string
	// folder returns the output folder (it may skip the test).
	folder func(t *testing.T) string
	// midRun breaks the folder once the job runs (nil: nothing).
	midRun func(dir string) error
	causes []string // the error has one of them
}

// sinkFaults are the faults of TestFileSinkFaults; readOnly is how this
// process makes a folder read-only ("" if it cannot).
func sinkFaults(readOnly string) []sinkFault {
	return []sinkFault{
		{
			name: "folder becomes read-only",
			folder: func(t *testing.T) string {
				if readOnly == "" {
					t.Skip("no way to make a folder read-only for this process")
				}
				dir := t.TempDir()
				t.Cleanup(func() { setReadOnly(readOnly, dir, false) })
				return dir
			},
			midRun: func(dir string) error { return setReadOnly(readOnly, dir, true) },
			causes: []string{"permission denied", "operation not permitted"},
		},
		{
			name:   "folder replaced by a file",
			folder: func(t *testing.T) string { return filepath.Join(t.TempDir(), "out") },
			midRun: func(dir string) error {
				return errors.Join(os.RemoveAll(dir), os.WriteFile(dir, []byte("not a folder"), 0o644))
			},
			causes: []string{"/out: not a directory"},
		},
		{
			name:   "disk fills",
			folder: smallFilesystem,
			causes: []string{"no space left on device"},
		},
	}
}

const envSinkFaultChild = "DLMSTREAM_SINKFAULT_CHILD" // ext|fault|input folder|output folder|read-only method

// sinkFaultReport is what a sink-fault child prints on its last line.
type sinkFaultReport struct {
	Ran      bool   // the model ran (the mid-run fault was applied)
	FaultErr string // applying the fault failed
	RunErr   string // the job's error ("" if it succeeded)
}

const sinkFaultMarker = "sink-fault-report: "

// sinkFaultChild runs one fault's job in its own process. A job that fails
// stops its SDK worker while other bundles may still answer, and Beam's
// harness (v2.77.0 harness.go: close(respc) against a late respc <- resp)
// races there; in a child the parent can tell that upstream report from
// one in our code.
func sinkFaultChild() int {
	flag.Parse()
	beam.Init()
	a := strings.Split(os.Getenv(envSinkFaultChild), "|")
	ext, name, in, dir, readOnly := a[0], a[1], a[2], a[3], a[4]
	var f sinkFault
	for _, c := range sinkFaults(readOnly) {
		if c.name == name {
			f = c
		}
	}
	model := testModel()
	done := make(chan error, 1)
	if f.midRun != nil {
		model = "test:filesink-fault"
		transforms.RegisterGenerator(model, faultEngine{once: &sync.Once{}, fault: func() error { return f.midRun(dir) }, done: done})
	}
	p, s := beam.NewPipelineWithRoot()
	err := Build(s, Options{Name: Extraction, InputGlob: filepath.Join(in, "*.txt"), OutputPath: filepath.Join(dir, "out"+ext),
		Transforms: transforms.Config{Model: model}})
	if err == nil {
		_, err = beam.Run(context.Background(), "prism", p)
	}
	var r sinkFaultReport
	if err != nil {
		r.RunErr = err.Error()
	}
	select {
	case ferr := <-done:
		r.Ran = true
		if ferr != nil {
			r.FaultErr = ferr.Error()
		}
	default:
	}
	b, _ := json.Marshal(r)
	fmt.Printf("\n%s%s\n", sinkFaultMarker, b)
	return 0
}

// runSinkFault runs fault f's job on in into dir in a child process and
// returns its report; a data race in the child fails t unless it is Beam's.
func runSinkFault(t *testing.T, ext string, f sinkFault, in, dir, readOnly string) sinkFaultReport {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSinkFaultChild+"="+strings.Join([]string{ext, f.name, in, dir, readOnly}, "|"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	checkChildRaces(t, stderr.String())
	var r sinkFaultReport
	i := bytes.LastIndex(stdout.Bytes(), []byte(sinkFaultMarker))
	if i < 0 || json.Unmarshal(bytes.TrimSpace(stdout.Bytes()[i+len(sinkFaultMarker):]), &r) != nil {
		t.Fatalf("the child printed no report (%v):\n%s\n%s", runErr, tail(stdout.String(), 2000), tail(stderr.String(), 3000))
	}
	return r
}

// TestFileSinkFaults runs extraction from files to JSON Lines and to
// Parquet while the output location fails: the folder becomes read-only or
// is replaced by a file once the job runs, or the disk (a 64 KiB tmpfs)
// fills while the results are written. The run fails with an error naming
// the output file and the OS cause, and no partial output is presented:
// nothing at the results' name, the dead-letter file absent or complete,
// no temporary file left. Each job runs in a child process (sinkFaultChild).
func TestFileSinkFaults(t *testing.T) {
	in := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(in, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 12 { // about 8 KiB of text each, not compressible
		var text strings.Builder
		for j := range 128 {
			sum := sha256.Sum256(fmt.Appendf(nil, "%d.%d", i, j))
			text.WriteString(hex.EncodeToString(sum[:]))
		}
		write(fmt.Sprintf("doc%02d.txt", i), text.String())
		write(fmt.Sprintf("doc%02d.schema.json", i), `{"type":"object","properties":{"title":{"type":"string"}}}`)
	}
	write("broken.txt", "no schema for this one") // the one dead letter
	readOnly := readOnlyMethod(t)
	for _, ext := range []string{".jsonl", ".parquet"} {
		for _, f := range sinkFaults(readOnly) {
			t.Run(ext+"/"+f.name, func(t *testing.T) {
				dir := f.folder(t)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				outPath := filepath.Join(dir, "out"+ext)
				dlqPath := filepath.Join(dir, "out.dlq.jsonl")
				r := runSinkFault(t, ext, f, in, dir, readOnly)
				if f.midRun != nil {
					if !r.Ran {
						t.Fatal("the model never ran: the folder was not broken")
					}
					if r.FaultErr != "" {
						t.Fatalf("breaking the output folder: %s", r.FaultErr)
					}
				}
				if r.RunErr == "" {
					t.Fatal("the run succeeded")
				}
				msg := r.RunErr
				for _, l := range strings.Split(msg, "\n") {
					if strings.Contains(l, "files: ") {
						t.Logf("run error: %s", strings.TrimSpace(l))
					}
				}
				if !strings.Contains(msg, "files: ") || !strings.Contains(msg, " "+outPath+": ") && !strings.Contains(msg, " "+dlqPath+": ") {
					t.Errorf("the error names neither %s nor %s:\n%s", outPath, dlqPath, msg)
				}
				found := false
				for _, c := range f.causes {
					found = found || strings.Contains(msg, c)
				}
				if !found {
					t.Errorf("the error has none of %q:\n%s", f.causes, msg)
				}
				// No partial output: nothing at the results' name; the dead
				// letters (small) are either not there or complete.
				if st, err := os.Stat(outPath); err == nil {
					t.Errorf("%s is there (%d bytes) after a failed run", outPath, st.Size())
				}
				if b, err := os.ReadFile(dlqPath); err == nil {
					t.Logf("%s is complete: %d bytes", dlqPath, len(b))
					lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
					var r files.Record
					if len(lines) != 1 || !bytes.HasSuffix(b, []byte("\n")) || json.Unmarshal([]byte(lines[0]), &r) != nil || r.Text != "no schema for this one" {
						t.Errorf("dead letters %s are not complete: %.200q", dlqPath, b)
					}
				}
				if st, err := os.Stat(dir); err == nil && st.IsDir() {
					left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
					if len(left) > 0 {
						t.Errorf("temporary files left: %v", left)
					}
				}
			})
		}
	}
}

// smallFilesystem mounts a 64 KiB tmpfs on a new folder; the test is
// skipped where mounting is not allowed (not root, no CAP_SYS_ADMIN).
func smallFilesystem(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small filesystem: %v %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			if out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput(); err2 != nil {
				t.Errorf("umount %s: %v %s; %v %s", dir, err, out, err2, out2)
			}
		}
	})
	return dir
}
