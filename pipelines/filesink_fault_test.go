package pipelines

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
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

// TestFileSinkFaults runs extraction from files to JSON Lines and to
// Parquet while the output location fails: the folder becomes read-only or
// is replaced by a file once the job runs, or the disk (a 64 KiB tmpfs)
// fills while the results are written. The run fails with an error naming
// the output file and the OS cause, and no partial output is presented:
// nothing at the results' name, the dead-letter file absent or complete,
// no temporary file left.
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
	faults := []struct {
		name string
		// folder returns the output folder (it may skip the test).
		folder func(t *testing.T) string
		// midRun breaks the folder once the job runs (nil: nothing).
		midRun func(dir string) error
		causes []string // the error has one of them
	}{
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
	for _, ext := range []string{".jsonl", ".parquet"} {
		for _, f := range faults {
			t.Run(ext+"/"+f.name, func(t *testing.T) {
				dir := f.folder(t)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				outPath := filepath.Join(dir, "out"+ext)
				dlqPath := filepath.Join(dir, "out.dlq.jsonl")
				model := testModel()
				done := make(chan error, 1)
				if f.midRun != nil {
					model = "test:filesink-fault/" + t.Name()
					transforms.RegisterGenerator(model, faultEngine{once: &sync.Once{}, fault: func() error { return f.midRun(dir) }, done: done})
				}
				p, s := beam.NewPipelineWithRoot()
				if err := Build(s, Options{Name: Extraction, InputGlob: filepath.Join(in, "*.txt"), OutputPath: outPath,
					Transforms: transforms.Config{Model: model}}); err != nil {
					t.Fatal(err)
				}
				err := ptest.Run(p)
				if f.midRun != nil {
					select {
					case ferr := <-done:
						if ferr != nil {
							t.Fatalf("breaking the output folder: %v", ferr)
						}
					default:
						t.Fatal("the model never ran: the folder was not broken")
					}
				}
				if err == nil {
					t.Fatal("the run succeeded")
				}
				msg := err.Error()
				for _, l := range strings.Split(msg, "\n") {
					if strings.Contains(l, "files: ") {
						t.Logf("run error: %s", strings.TrimSpace(l))
					}
				}
				if !strings.Contains(msg, "files: ") || !strings.Contains(msg, " "+outPath+": ") && !strings.Contains(msg, " "+dlqPath+": ") {
					t.Errorf("the error names neither %s nor %s:\n%v", outPath, dlqPath, err)
				}
				found := false
				for _, c := range f.causes {
					found = found || strings.Contains(msg, c)
				}
				if !found {
					t.Errorf("the error has none of %q:\n%v", f.causes, err)
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
