//go:build !nobeam

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

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
	// A bundled checkpoint keeps its bundled name.
	paths := []*string{&f.opts.InputGlob, &f.opts.OutputPath, &f.opts.Kafka.TLSCAFile}
	if isCheckpoint(f.modelPath) {
		paths = append(paths, &f.modelPath)
	}
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return nil
}
