package main

import (
	"fmt"
	"os"
	"path/filepath"

	"dlmstream"
)

// EnvModels names a folder holding checkpoints by name, searched for a
// relative --model that is not on disk; the container images set it to
// /opt/dlmstream/models.
const EnvModels = "DLMSTREAM_MODELS"

// resolveModel returns the checkpoint for --model: the path as given when
// it holds a config.json; for a bare or relative path that does not, the
// same name under $DLMSTREAM_MODELS; then the checkpoint bundled in the
// binary (the demo defaults, or a bare demo-text), returned by its bundled
// name so that every worker, in whatever directory, resolves it the same
// way (transforms write it from the binary on first use). The error is one
// line naming the flag, the path and where else it looked.
func resolveModel(flagName, path string) (string, error) {
	if isCheckpoint(path) {
		return path, nil
	}
	tried := []string{path}
	if dir := os.Getenv(EnvModels); dir != "" && !filepath.IsAbs(path) {
		alt := filepath.Join(dir, filepath.Base(path))
		if isCheckpoint(alt) {
			return alt, nil
		}
		tried = append(tried, alt)
	}
	if _, ok := dlmstream.Lookup(path); ok && !filepath.IsAbs(path) {
		if _, err := dlmstream.Materialize(path); err != nil {
			return "", fmt.Errorf("--%s %s: %w", flagName, path, err)
		}
		return path, nil
	}
	hint := "pass --" + flagName + " DIR (a Hugging Face checkpoint), or set $" + EnvModels
	return "", fmt.Errorf("--%s: no checkpoint (config.json) at %s: %s", flagName, joinOr(tried), hint)
}

// resolveInputDir returns a folder of inputs for a path flag: the path as
// given when it is a folder, else the bundled copy of a default
// (testdata/demo/speech, ...) written from the binary.
func resolveInputDir(flagName, path string) (string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return path, nil
	} else if _, ok := dlmstream.Lookup(path); !ok || filepath.IsAbs(path) {
		if err == nil {
			return "", fmt.Errorf("--%s %s is not a folder", flagName, path)
		}
		return "", fmt.Errorf("--%s: %v", flagName, err)
	}
	dir, err := dlmstream.Materialize(path)
	if err != nil {
		return "", fmt.Errorf("--%s %s: %w", flagName, path, err)
	}
	return dir, nil
}

func isCheckpoint(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil && st.Mode().IsRegular()
}

// modelOnDisk is resolveModel for a command that loads the checkpoint
// itself: the folder on disk, the bundled one written out where needed.
func modelOnDisk(flagName, path string) (string, error) {
	m, err := resolveModel(flagName, path)
	if err != nil || isCheckpoint(m) {
		return m, err
	}
	return dlmstream.Materialize(m)
}

func joinOr(s []string) string {
	out := s[0]
	for _, x := range s[1:] {
		out += " or " + x
	}
	return out
}
