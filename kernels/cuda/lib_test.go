package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenFailures: each way the driver can be missing gives one error
// naming what was missing and where it was looked for.
func TestOpenFailures(t *testing.T) {
	empty := t.TempDir()
	notELF := t.TempDir()
	if err := os.WriteFile(filepath.Join(notELF, "libcuda.so.1"), []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrongLib := t.TempDir() // a real shared library without the driver's symbols
	if libm, err := os.ReadFile("/lib/x86_64-linux-gnu/libm.so.6"); err == nil {
		if err := os.WriteFile(filepath.Join(wrongLib, "libcuda.so.1"), libm, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, dir string
		want      []string
		noLib     bool
	}{
		{"no library", empty, []string{"libcuda.so.1", EnvLibPath, empty}, true},
		{"not a library", notELF, []string{"failed to open", filepath.Join(notELF, "libcuda.so.1")}, true},
		{"no driver symbols", wrongLib, []string{"has no cu"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "no driver symbols" {
				if _, err := os.Stat(filepath.Join(wrongLib, "libcuda.so.1")); err != nil {
					t.Skip("no libm.so.6 to stand in for a wrong library")
				}
			}
			t.Setenv(EnvLibPath, c.dir)
			_, err := openDriver(searchDirs())
			if err == nil {
				t.Fatal("opened a driver")
			}
			if errors.Is(err, ErrNoLibrary) != c.noLib {
				t.Errorf("errors.Is(err, ErrNoLibrary) = %v, want %v: %v", !c.noLib, c.noLib, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestSearchDirs: the override is the only place searched; without it the
// usual folders come after LD_LIBRARY_PATH.
func TestSearchDirs(t *testing.T) {
	t.Setenv(EnvLibPath, "/a:/b")
	if d := searchDirs(); strings.Join(d, ",") != "/a,/b" {
		t.Fatalf("with %s: %v", EnvLibPath, d)
	}
	os.Unsetenv(EnvLibPath)
	t.Setenv("LD_LIBRARY_PATH", "/x/lib")
	d := searchDirs()
	if len(d) < 2 || d[0] != "/x/lib" || !strings.Contains(strings.Join(d, ","), "/usr/local/cuda/lib64") {
		t.Fatalf("default search: %v", d)
	}
}

// TestDevices: on a machine without CUDA the reason is one of the known
// ones; with CUDA every device reports a name and a compute capability.
func TestDevices(t *testing.T) {
	devs, err := Devices()
	if err != nil {
		if !errors.Is(err, ErrNoLibrary) && !errors.Is(err, ErrNoDevice) && !strings.Contains(err.Error(), "older than") {
			t.Fatalf("unexpected reason for no CUDA: %v", err)
		}
		t.Logf("no CUDA here: %v", err)
		return
	}
	for _, d := range devs {
		if d.Name == "" || d.Major < 5 || d.MemoryBytes == 0 {
			t.Errorf("implausible device %+v", d)
		}
		t.Log(d)
	}
}
