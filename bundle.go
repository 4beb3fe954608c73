// Package dlmstream carries what the default job needs inside the binary:
// the three demo checkpoints (demo-text, demo-speech-v2, demo-vision) and
// the demo inputs (speech clips, scenes, held-out schemas), about 11 MB.
// A binary built with `go install ./cmd/dlmstream` therefore runs `dlmstream
// demo` and `dlmstream run` from any directory: a default path that is not
// on disk is written once, from the embedded copy, to a folder in the user's
// cache named by the copy's content hash, and read from there.
package dlmstream

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// The checkpoints' model cards and training logs stay in the repository.
//
//go:embed testdata/models/demo-text/*.json testdata/models/demo-text/*.safetensors
//go:embed testdata/models/demo-speech-v2/*.json testdata/models/demo-speech-v2/*.safetensors
//go:embed testdata/models/demo-vision/*.json testdata/models/demo-vision/*.safetensors
//go:embed testdata/demo/speech testdata/demo/vision testdata/heldout/text/schemas testdata/heldout/text/media
var bundle embed.FS

// EnvCacheDir overrides where bundled folders are written (default: the
// user's cache folder, os.UserCacheDir()/dlmstream).
const EnvCacheDir = "DLMSTREAM_CACHE_DIR"

// Bundled lists the folders the binary carries, as paths relative to the
// repository root (testdata/models/demo-text, testdata/demo/speech, ...).
func Bundled() []string {
	var dirs []string
	_ = fs.WalkDir(bundle, "testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dir := path.Dir(p)
		if n := len(dirs); n == 0 || dirs[n-1] != dir {
			dirs = append(dirs, dir)
		}
		return nil
	})
	sort.Strings(dirs)
	return dirs
}

// Lookup returns the bundled folder that name denotes: its repository path
// (testdata/models/demo-text, with or without ./), or a checkpoint's bare
// name (demo-text). ok is false for anything else.
func Lookup(name string) (dir string, ok bool) {
	clean := path.Clean(filepath.ToSlash(name))
	for _, d := range Bundled() {
		if clean == d || (strings.HasPrefix(d, "testdata/models/") && clean == path.Base(d)) {
			return d, true
		}
	}
	return "", false
}

var (
	extractMu sync.Mutex
	hashed    = map[string]listing{} // bundled folder -> its files and hash; under extractMu
)

type listing struct {
	files []string
	sum   string
}

// Materialize returns a folder on disk holding the bundled folder that name
// denotes (see Lookup), writing it on first use under
// $DLMSTREAM_CACHE_DIR/bundle/NAME-HASH. The write is atomic: a complete
// folder appears under its final name, or nothing does; concurrent
// processes agree on the same folder.
func Materialize(name string) (string, error) {
	dir, ok := Lookup(name)
	if !ok {
		return "", fmt.Errorf("dlmstream: %q is not a bundled folder (bundled: %s)", name, strings.Join(Bundled(), ", "))
	}
	root, err := cacheDir()
	if err != nil {
		return "", err
	}
	extractMu.Lock()
	defer extractMu.Unlock()
	files, sum, err := contents(dir)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(root, "bundle", path.Base(dir)+"-"+sum[:12])
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("dlmstream: bundled %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".partial-"+path.Base(dir)+"-")
	if err != nil {
		return "", fmt.Errorf("dlmstream: bundled %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; a leftover after a failure
	for _, f := range files {
		b, err := bundle.ReadFile(path.Join(dir, f))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			return "", fmt.Errorf("dlmstream: writing bundled %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		// Another process won the race: its folder is complete.
		if st, serr := os.Stat(dst); serr == nil && st.IsDir() {
			return dst, nil
		}
		return "", fmt.Errorf("dlmstream: bundled %s: %w", dir, err)
	}
	return dst, nil
}

// contents lists dir's files (flat: the bundled folders have no
// subfolders) and hashes their names and bytes, once per process.
func contents(dir string) ([]string, string, error) {
	if l, ok := hashed[dir]; ok {
		return l.files, l.sum, nil
	}
	ents, err := bundle.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	var files []string
	for _, e := range ents {
		if e.IsDir() {
			return nil, "", errors.New("dlmstream: bundled folder " + dir + " has a subfolder")
		}
		b, err := bundle.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
		files = append(files, e.Name())
	}
	l := listing{files, hex.EncodeToString(h.Sum(nil))}
	hashed[dir] = l
	return l.files, l.sum, nil
}

func cacheDir() (string, error) {
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("dlmstream: no cache folder for the bundled checkpoints (set $%s): %w", EnvCacheDir, err)
	}
	return filepath.Join(d, "dlmstream"), nil
}
