//go:build !nobeam

package main

import (
	"errors"
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

// checkOutputDir reports an output file whose folder does not exist or
// does not take a new file (read-only, no permission, full): the sink
// writes a temporary file there and renames it into place at the end.
func checkOutputDir(flagName, path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("--%s %s: folder %s does not exist", flagName, path, dir)
	}
	probe, err := os.CreateTemp(dir, ".dlmstream-write-check-*")
	if err != nil {
		return fmt.Errorf("--%s %s: folder %s does not take new files: %v", flagName, path, dir, errors.Unwrap(err))
	}
	probe.Close()
	os.Remove(probe.Name())
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
	tc := &f.opts.Transforms
	for _, side := range []struct {
		flag string
		path *string
	}{{"speech-model", &tc.SpeechModel}, {"vision-model", &tc.VisionModel}} {
		if *side.path == "" {
			continue
		}
		if *side.path, err = resolveModel(side.flag, *side.path); err != nil {
			return err
		}
	}
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
	for _, m := range []*string{&f.modelPath, &tc.SpeechModel, &tc.VisionModel} {
		if *m != "" && isCheckpoint(*m) {
			paths = append(paths, m)
		}
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
