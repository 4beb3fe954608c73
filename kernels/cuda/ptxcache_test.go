package cuda

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPTXCache: the first request compiles and stores the PTX, the second
// reads the file without compiling; another arch or driver compiles anew;
// an unwritable folder still returns PTX.
func TestPTXCache(t *testing.T) {
	nvrtcOrSkip(t)
	src := Sources()[0]
	compiles := 0
	counting := func(s, n, a string, o ...string) (string, error) { compiles++; return CompilePTX(s, n, a, o...) }
	dir := t.TempDir()
	c := &PTXCache{Dir: dir, compile: counting}
	for _, step := range []struct {
		arch     string
		driver   int
		compiles int
	}{
		{"compute_90", 13000, 1},
		{"compute_90", 13000, 1}, // from disk
		{"compute_80", 13000, 2},
		{"compute_90", 12080, 3},
		{"compute_80", 13000, 3},
	} {
		ptx, err := c.PTX(src, step.arch, step.driver)
		if err != nil {
			t.Fatal(err)
		}
		if want := ".target sm_" + step.arch[len("compute_"):]; !contains(ptx, want) {
			t.Fatalf("%s: PTX lacks %q", step.arch, want)
		}
		if compiles != step.compiles {
			t.Fatalf("%s driver %d: %d compiles, want %d", step.arch, step.driver, compiles, step.compiles)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.ptx"))
	if len(files) != 3 {
		t.Errorf("%d cached files, want 3: %v", len(files), files)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	ro := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(ro, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := &PTXCache{Dir: filepath.Join(ro, "ptx"), compile: counting} // a folder under a file
	if _, err := bad.PTX(src, "compute_90", 13000); err != nil {
		t.Fatalf("unwritable cache: %v", err)
	}
}

// TestDefaultPTXCache: the env var names the folder.
func TestDefaultPTXCache(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvCacheDir, d)
	if got := DefaultPTXCache().Dir; got != filepath.Join(d, "ptx") {
		t.Errorf("Dir = %q, want %q", got, filepath.Join(d, "ptx"))
	}
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}
