package dlmstream

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestBundledFolders(t *testing.T) {
	want := []string{
		"testdata/demo/speech", "testdata/demo/vision", "testdata/heldout/text/media",
		"testdata/heldout/text/schemas",
		"testdata/models/demo-speech-v2", "testdata/models/demo-text", "testdata/models/demo-vision",
	}
	got := Bundled()
	if len(got) != len(want) {
		t.Fatalf("Bundled() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Bundled() = %v, want %v", got, want)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name, dir string
		ok        bool
	}{
		{"testdata/models/demo-text", "testdata/models/demo-text", true},
		{"./testdata/models/demo-text/", "testdata/models/demo-text", true},
		{"demo-text", "testdata/models/demo-text", true},
		{"demo-speech-v2", "testdata/models/demo-speech-v2", true},
		{"testdata/demo/speech", "testdata/demo/speech", true},
		{"speech", "", false}, // bare names are for checkpoints only
		{"demo-speech", "", false},
		{"testdata/models/tiny-qwen3", "", false},
		{"/abs/testdata/models/demo-text", "", false},
		{"", "", false},
	} {
		dir, ok := Lookup(c.name)
		if dir != c.dir || ok != c.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", c.name, dir, ok, c.dir, c.ok)
		}
	}
}

// TestMaterialize writes each bundled folder to a fresh cache, byte for byte
// the repository's files (less the model cards and training logs), once:
// concurrent callers get the same folder and no partial one is left.
func TestMaterialize(t *testing.T) {
	cache := t.TempDir()
	t.Setenv(EnvCacheDir, cache)
	for _, d := range Bundled() {
		var wg sync.WaitGroup
		dirs := make([]string, 4)
		errs := make([]error, 4)
		for i := range dirs {
			wg.Add(1)
			go func() { defer wg.Done(); dirs[i], errs[i] = Materialize(d) }()
		}
		wg.Wait()
		for i := range dirs {
			if errs[i] != nil {
				t.Fatalf("Materialize(%s): %v", d, errs[i])
			}
			if dirs[i] != dirs[0] {
				t.Fatalf("Materialize(%s) gave %s and %s", d, dirs[0], dirs[i])
			}
		}
		ents, err := os.ReadDir(dirs[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) == 0 {
			t.Fatalf("%s is empty", dirs[0])
		}
		for _, e := range ents {
			got, err := os.ReadFile(filepath.Join(dirs[0], e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatalf("%s holds %s, which the repository's %s lacks", dirs[0], e.Name(), d)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s differs from the repository's", dirs[0], e.Name())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dirsOf(t, cache), "config.json")); err != nil {
		t.Errorf("no checkpoint written: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(cache, "bundle", ".partial-*"))
	if len(left) > 0 {
		t.Errorf("partial folders left: %v", left)
	}
	if _, err := Materialize("testdata/models/tiny-qwen3"); err == nil {
		t.Error("Materialize of a folder not bundled: no error")
	}
}

func dirsOf(t *testing.T, cache string) string {
	m, _ := filepath.Glob(filepath.Join(cache, "bundle", "demo-text-*"))
	if len(m) != 1 {
		t.Fatalf("demo-text folders in the cache: %v", m)
	}
	return m[0]
}

// TestMaterializeUnwritable reports a cache that cannot be written.
func TestMaterializeUnwritable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvCacheDir, f) // a file, not a folder
	if _, err := Materialize("demo-text"); err == nil {
		t.Fatal("no error for a cache under a file")
	}
}
