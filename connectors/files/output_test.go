package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/parquet-go/parquet-go"
)

// failAfter passes n bytes to w, then fails every write with err: a disk
// that fills mid-write.
type failAfter struct {
	w   io.Writer
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return f.w.Write(p)
	}
	k, _ := f.w.Write(p[:f.n])
	f.n = 0
	return k, f.err
}

// setWrapOutput swaps the sinks' writer seam for the test.
func setWrapOutput(t *testing.T, wrap func(path string, w io.Writer) io.Writer) {
	t.Cleanup(func() { wrapOutput = nil })
	wrapOutput = wrap
}

// writable reports whether this process can create a file in dir.
func writable(dir string) bool {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// readOnly makes dir unwritable for this process and says how: chmod 0555,
// or, for root (whom modes do not stop), the immutable attribute. "" when
// neither works (root without chattr or on a filesystem without it).
func readOnly(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	if !writable(dir) {
		return "chmod 0555"
	}
	if exec.Command("chattr", "+i", dir).Run() == nil {
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if !writable(dir) {
			return "chattr +i"
		}
	}
	return ""
}

// smallDisk mounts a 64 KiB tmpfs on a new folder and returns it; the test
// is skipped where mounting is not allowed (not root, no CAP_SYS_ADMIN).
func smallDisk(t *testing.T) string {
	t.Helper()
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

// testRows are n results of about 1 KiB each that do not compress.
func testRows(n int) []kafka.Envelope {
	var es []kafka.Envelope
	for i := range n {
		var text strings.Builder
		for j := range 16 {
			sum := sha256.Sum256(fmt.Appendf(nil, "%d.%d", i, j))
			text.WriteString(hex.EncodeToString(sum[:]))
		}
		e := kafka.Envelope{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, `{"task":"extract","text":%q}`, text.String())}
		es = append(es, e.WithHeader(kafka.HeaderRequestID, fmt.Sprint(i)))
	}
	return es
}

// sinkKind runs one sink's writer DoFn over rows as Beam would after the
// GroupByKey, calling midway (if set) once half of them were read.
type sinkKind struct {
	ext string
	run func(path string, rows []kafka.Envelope, midway func()) error
	// check reads a complete output and returns its row count.
	check func(t *testing.T, path string) int
}

func iterate[T any](items []T, midway func()) func(*T) bool {
	i := 0
	return func(v *T) bool {
		if i == len(items)/2 && midway != nil {
			midway()
		}
		if i == len(items) {
			return false
		}
		*v = items[i]
		i++
		return true
	}
}

var sinkKinds = []sinkKind{
	{
		ext: ".jsonl",
		run: func(path string, rows []kafka.Envelope, midway func()) error {
			var lines []string
			for _, e := range rows {
				l, err := ToJSONLine(e)
				if err != nil {
					return err
				}
				lines = append(lines, l)
			}
			return (&writeJSONLFn{Path: path}).ProcessElement(context.Background(), 0, iterate(lines, midway))
		},
		check: func(t *testing.T, path string) int {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 || b[len(b)-1] != '\n' {
				t.Fatalf("%s does not end in a newline", path)
			}
			return bytes.Count(b, []byte("\n"))
		},
	},
	{
		ext: ".parquet",
		run: func(path string, rows []kafka.Envelope, midway func()) error {
			return (&writeParquetFn{Path: path}).ProcessElement(context.Background(), 0, iterate(rows, midway))
		},
		check: func(t *testing.T, path string) int {
			rows, err := parquet.ReadFile[Row](path) // needs the footer
			if err != nil {
				t.Fatal(err)
			}
			return len(rows)
		},
	},
}

// tempFiles lists the sinks' temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSinkFaults: a folder that is or becomes unwritable, a disk that
// fills mid-write, a rename that fails. Each sink fails with an error
// naming the output and the cause; nothing is at the output's name (or a
// previous run's complete file still is), and no temporary file is left.
func TestSinkFaults(t *testing.T) {
	const n = 400 // about 400 KiB
	tests := []struct {
		name string
		// setup returns the output path in dir (and may break things).
		setup func(t *testing.T, dir, file string) string
		// midway, if set, runs when half of the rows were written.
		midway func(t *testing.T, path string)
		// want are substrings of the error; PATH is the output path.
		want   []string
		is     error
		before string // the output's content before the run (a previous run's)
		// leftTemp: the temporary file cannot be removed either (its folder
		// became read-only), and the error says so.
		leftTemp bool
	}{
		{
			name: "read-only folder",
			setup: func(t *testing.T, dir, file string) string {
				if how := readOnly(t, dir); how == "" {
					t.Skip("no way to make a folder read-only for this process")
				}
				return filepath.Join(dir, file)
			},
			want: []string{"files: create PATH: "},
			is:   os.ErrPermission,
		},
		{
			name: "folder is a file",
			setup: func(t *testing.T, dir, file string) string {
				if err := os.WriteFile(filepath.Join(dir, "out"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(dir, "out", file)
			},
			want: []string{"files: create PATH: mkdir ", "/out: not a directory"},
			is:   syscall.ENOTDIR,
		},
		{
			name:  "disk fills after 10 KiB",
			setup: enospcAfter(10 << 10),
			want:  []string{"files: write PATH: no space left on device"},
			is:    syscall.ENOSPC,
		},
		{
			name: "disk fills, previous output kept",
			setup: func(t *testing.T, dir, file string) string {
				path := enospcAfter(10<<10)(t, dir, file)
				if err := os.WriteFile(path, []byte("a previous run's output\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return path
			},
			want:   []string{"files: write PATH: no space left on device"},
			is:     syscall.ENOSPC,
			before: "a previous run's output\n",
		},
		{
			name: "writes go to /dev/full",
			setup: func(t *testing.T, dir, file string) string {
				full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
				if err != nil {
					t.Skipf("no /dev/full: %v", err)
				}
				t.Cleanup(func() { full.Close() })
				setWrapOutput(t, func(string, io.Writer) io.Writer { return full })
				return filepath.Join(dir, file)
			},
			want: []string{"files: write PATH: write /dev/full: no space left on device"},
			is:   syscall.ENOSPC,
		},
		{
			name:  "64 KiB filesystem",
			setup: func(t *testing.T, _, file string) string { return filepath.Join(smallDisk(t), file) },
			want:  []string{"files: ", " PATH: no space left on device"},
			is:    syscall.ENOSPC,
		},
		{
			name: "rename fails: a folder has the output's name",
			setup: func(t *testing.T, dir, file string) string {
				path := filepath.Join(dir, file)
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
				return path
			},
			want: []string{"files: rename ", "/.out", ".tmp-", " to PATH: "},
		},
		{
			name:  "folder replaced by a file mid-write",
			setup: func(t *testing.T, dir, file string) string { return filepath.Join(dir, "out", file) },
			midway: func(t *testing.T, path string) {
				dir := filepath.Dir(path)
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dir, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"files: ", "PATH: "},
		},
		{
			name: "folder becomes read-only mid-write",
			setup: func(t *testing.T, dir, file string) string {
				// The probe: can this process make a folder read-only?
				if how := readOnly(t, t.TempDir()); how == "" {
					t.Skip("no way to make a folder read-only for this process")
				}
				return filepath.Join(dir, file)
			},
			midway:   func(t *testing.T, path string) { readOnly(t, filepath.Dir(path)) },
			want:     []string{"files: rename ", " to PATH: ", "files: temporary file ", " of PATH left behind: "},
			is:       os.ErrPermission,
			leftTemp: true,
		},
	}
	for _, kind := range sinkKinds {
		for _, tt := range tests {
			t.Run(kind.ext+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				path := tt.setup(t, dir, "out"+kind.ext)
				var midway func()
				if tt.midway != nil {
					midway = func() { tt.midway(t, path) }
				}
				err := kind.run(path, testRows(n), midway)
				if err == nil {
					t.Fatal("no error")
				}
				t.Logf("error: %v", err)
				for _, w := range tt.want {
					if w = strings.ReplaceAll(w, "PATH", path); !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %q is not %v", err, tt.is)
				}
				if strings.Contains(err.Error(), "left behind") != tt.leftTemp {
					t.Errorf("temporary file left behind: %v, want %v", !tt.leftTemp, tt.leftTemp)
				}
				st, statErr := os.Lstat(path)
				switch {
				case tt.before != "":
					if b, _ := os.ReadFile(path); string(b) != tt.before {
						t.Errorf("previous output %s became %.40q", path, b)
					}
				case statErr == nil && !st.IsDir():
					t.Errorf("%s exists (%d bytes) after a failed write", path, st.Size())
				case statErr != nil && !errors.Is(statErr, os.ErrNotExist) && !errors.Is(statErr, syscall.ENOTDIR):
					t.Errorf("stat %s: %v", path, statErr)
				}
				if st, err := os.Stat(filepath.Dir(path)); err == nil && st.IsDir() {
					if left := tempFiles(t, filepath.Dir(path)); len(left) != 0 && !tt.leftTemp {
						t.Errorf("temporary files left: %v", left)
					}
				}
			})
		}
	}
}

// enospcAfter is a setup that makes every output's disk fill after n bytes.
func enospcAfter(n int) func(t *testing.T, dir, file string) string {
	return func(t *testing.T, dir, file string) string {
		setWrapOutput(t, func(_ string, w io.Writer) io.Writer { return &failAfter{w: w, n: n, err: syscall.ENOSPC} })
		return filepath.Join(dir, file)
	}
}

// TestSinkWritesAtomically: a complete output appears at its name (mode
// 0644 under the umask), the temporary file is gone, and a previous run's
// output is replaced.
func TestSinkWritesAtomically(t *testing.T) {
	for _, kind := range sinkKinds {
		t.Run(kind.ext, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "out"+kind.ext) // the folder is created
			for _, n := range []int{3, 50} {
				if err := kind.run(path, testRows(n), nil); err != nil {
					t.Fatal(err)
				}
				if got := kind.check(t, path); got != n {
					t.Fatalf("%d rows, want %d", got, n)
				}
			}
			if left := tempFiles(t, filepath.Dir(path)); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			// The mode a file created 0644 gets under this process's umask
			// (not os.CreateTemp's 0600).
			ref := filepath.Join(dir, "ref")
			if err := os.WriteFile(ref, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			want, _ := os.Stat(ref)
			if st, err := os.Stat(path); err != nil || st.Mode() != want.Mode() {
				t.Errorf("mode %v (%v), want %v", st.Mode(), err, want.Mode())
			}
		})
	}
}

// TestSinkFaultsOtherScheme: through Beam's filesystem (memfs here) the
// output is renamed from its temporary name too, and removed on error.
func TestSinkFaultsOtherScheme(t *testing.T) {
	ctx := context.Background()
	fs, err := filesystem.New(ctx, "memfs://x")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range sinkKinds {
		t.Run(kind.ext, func(t *testing.T) {
			dir := "memfs://" + strings.ReplaceAll(t.Name(), "/", "-")
			path := dir + "/out" + kind.ext
			if err := kind.run(path, testRows(5), nil); err != nil {
				t.Fatal(err)
			}
			if got, _ := fs.List(ctx, dir+"/*"); len(got) != 1 || got[0] != path {
				t.Fatalf("files %v, want %s only", got, path)
			}
			if size, err := fs.Size(ctx, path); err != nil || size == 0 {
				t.Fatalf("size %d (%v)", size, err)
			}
			fs.(filesystem.Remover).Remove(ctx, path)
			setWrapOutput(t, func(_ string, w io.Writer) io.Writer { return &failAfter{w: w, n: 100, err: syscall.ENOSPC} })
			err := kind.run(path, testRows(5), nil)
			if want := "files: write " + path + ": no space left on device"; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
			if got, _ := fs.List(ctx, dir+"/*"); len(got) != 0 {
				t.Fatalf("files %v after a failed write, want none", got)
			}
		})
	}
}
