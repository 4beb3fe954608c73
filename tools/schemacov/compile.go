package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"dlmstream/engine/schema"
)

// Report is one source's figures.
type Report struct {
	Source   string  `json:"source"`
	Schemas  int     `json:"schemas"`
	Compiled int     `json:"compiled"`
	Coverage float64 `json:"coverage_pct"`
	Panics   int     `json:"panics"`
	Timeouts int     `json:"timeouts"`
	// Failures groups the schemas that did not compile by reason, most
	// frequent first (in output, at most -failures of them, OtherFailures
	// counting the rest).
	Failures      []Reason       `json:"failures"`
	OtherFailures int            `json:"other_failures,omitempty"`
	Extract       *ExtractReport `json:"extract,omitempty"`

	compiled []string // paths of the schemas that compiled
}

// Reason is a failure reason: the CompileError's keyword ("not", "if",
// "scaffold", "$schema"...), or panic, timeout, read, error for failures
// that are not a *schema.CompileError; Example is one schema it hit.
type Reason struct {
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// source is a corpus directory: its *.json files, sorted.
type source struct {
	name  string
	files []string
}

// sources lists the subdirectories of corpus holding *.json files, or
// corpus itself if it holds them directly; only names in want if given.
func sources(corpus string, want []string) ([]source, error) {
	ents, err := os.ReadDir(corpus)
	if err != nil {
		return nil, err
	}
	dirs := []string{corpus}
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(corpus, e.Name()))
		}
	}
	var out []source
	for _, d := range dirs {
		name := filepath.Base(d)
		if len(want) > 0 && !slices.Contains(want, name) {
			continue
		}
		files, err := filepath.Glob(filepath.Join(d, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(files) > 0 {
			out = append(out, source{name: name, files: files})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.json schemas under %s (sources %q)", corpus, want)
	}
	return out, nil
}

// compileSource compiles every schema of src, each under timeout and with
// panics recovered.
func compileSource(src source, timeout time.Duration) *Report {
	r := &Report{Source: src.name, Schemas: len(src.files)}
	reasons := map[string]*Reason{}
	for _, f := range src.files {
		_, reason, err := compileFile(f, timeout)
		if err == nil {
			r.Compiled++
			r.compiled = append(r.compiled, f)
			continue
		}
		switch reason {
		case "panic":
			r.Panics++
		case "timeout":
			r.Timeouts++
		}
		rs := reasons[reason]
		if rs == nil {
			rs = &Reason{Reason: reason, Example: f + ": " + err.Error()}
			reasons[reason] = rs
		}
		rs.Count++
	}
	r.Coverage = pct(r.Compiled, r.Schemas)
	r.Failures, _ = top(reasons, -1)
	return r
}

// compileFile compiles one schema file; on failure reason groups it.
func compileFile(path string, timeout time.Duration) (*schema.Schema, string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, "read", err
	}
	s, how, err := guarded(timeout, func() (*schema.Schema, error) { return schema.Compile(src) })
	switch {
	case how == "panic":
		return nil, "panic", err
	case how == "timeout":
		// Compile takes no context: the goroutine is left to finish (the
		// limits in engine/schema/limits.go bound it) and its result is
		// dropped.
		return nil, "timeout", fmt.Errorf("compile took over %v", timeout)
	case err != nil:
		return nil, reasonOf(err), err
	}
	return s, "", nil
}

// reasonOf groups an error: a *schema.CompileError by its keyword and the
// kind of its message (kindOf).
func reasonOf(err error) string {
	var ce *schema.CompileError
	if errors.As(err, &ce) {
		return ce.Keyword + ": " + kindOf(ce.Msg)
	}
	return "error: " + kindOf(err.Error())
}

// kindOf is the general part of an error message: quoted details written
// "…" (and URLs, JSON pointers), cut at the first bracketed detail,
// numbers written N, at most ten words.
func kindOf(msg string) string {
	msg = quoted.ReplaceAllString(msg, `"…"`)
	if i := strings.IndexAny(msg, "({["); i >= 0 {
		msg = msg[:i]
	}
	w := strings.Fields(msg)
	for i, f := range w {
		if strings.Contains(f, "://") || strings.HasPrefix(f, "#/") || strings.HasPrefix(f, "`") {
			w[i] = "…"
		}
		if strings.ContainsAny(f, "0123456789") && strings.Trim(f, "0123456789.,;:-") == "" {
			w[i] = "N" + strings.TrimLeft(f, "0123456789.-")
		}
	}
	return strings.TrimRight(strings.Join(w[:min(len(w), 10)], " "), " ,;:")
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'`)

// top sorts reasons by count (then name) and keeps the first n; rest sums
// the counts left off.
func top(reasons map[string]*Reason, n int) (kept []Reason, rest int) {
	all := make([]Reason, 0, len(reasons))
	for _, r := range reasons {
		all = append(all, *r)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Reason < all[j].Reason
	})
	if n >= 0 && len(all) > n {
		for _, r := range all[n:] {
			rest += r.Count
		}
		all = all[:n]
	}
	return all, rest
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// oneLine shortens a message to one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
