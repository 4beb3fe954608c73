//go:build !nobeam

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvModels names a folder holding the bundled demo checkpoints
// (demo-text, demo-speech-v2, demo-vision), for a binary run outside the
// repository; the container images set it to /opt/dlmstream/models.
const EnvModels = "DLMSTREAM_MODELS"

// resolveModel returns the checkpoint directory for --model: the path as
// given when it holds a config.json; for a bare or relative path that
// does not, the same name under $DLMSTREAM_MODELS (a default of
// testdata/models/demo-text looks for demo-text there). The error is one
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
	hint := "run from the repository root, pass --" + flagName + " DIR, or set $" + EnvModels
	return "", fmt.Errorf("--%s: no checkpoint (config.json) at %s: %s", flagName, joinOr(tried), hint)
}

func isCheckpoint(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil && st.Mode().IsRegular()
}

// checkFile reports a path flag whose file is missing (empty: unset).
func checkFile(flagName, path string) error {
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("--%s: %v", flagName, err)
	}
	return nil
}

// checkOutputDir reports an output file whose folder does not exist.
func checkOutputDir(flagName, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return fmt.Errorf("--%s %s: folder %s does not exist", flagName, path, filepath.Dir(path))
	}
	return nil
}

// checkGlob reports an input glob that is malformed or matches nothing.
func checkGlob(flagName, glob string) error {
	if glob == "" {
		return nil
	}
	m, err := filepath.Glob(glob)
	if err != nil {
		return fmt.Errorf("--%s %q: %v", flagName, glob, err)
	}
	if len(m) == 0 {
		return fmt.Errorf("--%s %q matches no file", flagName, glob)
	}
	return nil
}

func joinOr(s []string) string {
	out := s[0]
	for _, x := range s[1:] {
		out += " or " + x
	}
	return out
}

// checkPaths checks every path flag of run before the job is built, so a
// missing file is one line at once rather than a worker error after the
// job has started.
func (f *runFlags) checkPaths() error {
	m, err := resolveModel("model", f.modelPath)
	if err != nil {
		return err
	}
	f.modelPath = m
	for _, c := range []error{
		checkGlob("input-glob", f.opts.InputGlob),
		checkOutputDir("output-path", f.opts.OutputPath),
		checkFile("tls-ca", f.opts.Kafka.TLSCAFile),
	} {
		if c != nil {
			return c
		}
	}
	// Absolute, so a worker started elsewhere (a portable runner's PROCESS
	// or EXTERNAL environment runs in its own directory) finds them.
	for _, p := range []*string{&f.modelPath, &f.opts.InputGlob, &f.opts.OutputPath, &f.opts.Kafka.TLSCAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return nil
}
