package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"dlmstream/engine"
	"dlmstream/engine/schema"
)

// runSchema serves infer --schema PATH. With a schema file it extracts
// JSON from the prompt and prints it. With a directory it measures the
// corpus (measureDirs).
func runSchema(ctx context.Context, e *engine.Engine, path, prompt string, opts schema.Options, stdout, stderr io.Writer) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return measureDirs(ctx, e, path, prompt, opts, stdout)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := schema.Compile(src)
	if err != nil {
		return err
	}
	res, err := schema.Extract(ctx, e, prompt, s, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(res.JSON))
	fmt.Fprintf(stderr, "valid; canvas %d tokens, %d decoded in %d forwards (%.2f tokens per forward), %d round(s)\n",
		res.Canvas, res.Decoded, res.Forwards, float64(res.Decoded)/float64(max(res.Forwards, 1)), res.Rounds)
	return nil
}

// dirReport sums one directory's schemas.
type dirReport struct {
	schemas, compiled, failed int // failed: schemas whose measurement broke off
	schema.Report
	gold bool // some schema has held-out cases
}

// measureDirs measures every directory under root that holds *.json
// schemas (root first, then its subdirectories in lexical order): each
// schema is compiled (coverage) and extracted (compliance, tokens per
// forward); NAME.jsonl beside NAME.json holds held-out cases ({"input":
// ..., "output": gold}) scored for field accuracy against unscaffolded
// generation; schemas without cases use the prompt (or a stock sentence)
// as input. Every schema gets a line, and no failure (an unreadable file,
// a schema that does not compile, a refused extraction, a panic) stops
// the run: each directory's summary follows its schemas, and a total
// closes a run over several directories. Only a cancelled ctx ends it
// early.
func measureDirs(ctx context.Context, e *engine.Engine, root, prompt string, opts schema.Options, w io.Writer) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", p, err)
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var tot dirReport
	measured := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(files) == 0 {
			continue
		}
		name, _ := filepath.Rel(root, dir)
		fmt.Fprintf(w, "== %s (%d schemas)\n", name, len(files))
		var r dirReport
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			measureOne(ctx, e, f, prompt, opts, &r, w)
		}
		printDir(w, name, r)
		tot.add(r)
		measured++
	}
	switch {
	case measured == 0:
		return fmt.Errorf("no *.json schemas under %s", root)
	case measured > 1:
		printDir(w, "total", tot)
	}
	return nil
}

// measureOne compiles and extracts schema file f into r, printing its line.
func measureOne(ctx context.Context, e *engine.Engine, f, prompt string, opts schema.Options, r *dirReport, w io.Writer) {
	name := strings.TrimSuffix(filepath.Base(f), ".json")
	r.schemas++
	defer func() {
		if p := recover(); p != nil {
			r.failed++
			fmt.Fprintf(w, "%-28s failed: panic: %v\n", name, p)
		}
	}()
	src, err := os.ReadFile(f)
	if err != nil {
		r.failed++
		fmt.Fprintf(w, "%-28s failed: %v\n", name, err)
		return
	}
	s, err := schema.Compile(src)
	if err != nil {
		fmt.Fprintf(w, "%-28s unsupported: %v\n", name, err)
		return
	}
	r.compiled++
	cases, err := readCases(strings.TrimSuffix(f, ".json") + ".jsonl")
	if err != nil {
		r.failed++
		fmt.Fprintf(w, "%-28s failed: %v\n", name, err)
		return
	}
	gold := len(cases) > 0
	if !gold {
		in := prompt
		if in == "" {
			in = "Example text for " + strings.ReplaceAll(name, "_", " ") + "."
		}
		cases = []schema.Case{{Input: in}}
	}
	r.gold = r.gold || gold
	m, err := schema.Measure(ctx, e, s, cases, opts, gold)
	r.add(dirReport{Report: m})
	fmt.Fprintf(w, "%-28s valid %d/%d, %d tokens in %d forwards", name, m.Valid, m.Attempts, m.Decoded, m.Forwards)
	if m.Refused > 0 {
		fmt.Fprintf(w, ", %d refused", m.Refused)
	}
	if gold {
		fmt.Fprintf(w, ", fields %d/%d (unscaffolded %d/%d, valid %d/%d)", m.CorrectFields, m.GoldFields, m.FreeCorrectFields, m.GoldFields, m.FreeValid, m.Attempts)
	}
	fmt.Fprintln(w)
	for _, msg := range m.Errors {
		fmt.Fprintf(w, "  %s\n", msg)
	}
	if err != nil {
		r.failed++
		fmt.Fprintf(w, "  failed: %v\n", err)
	}
}

func (r *dirReport) add(o dirReport) {
	r.schemas += o.schemas
	r.compiled += o.compiled
	r.failed += o.failed
	r.gold = r.gold || o.gold
	r.Attempts += o.Attempts
	r.Refused += o.Refused
	r.Valid += o.Valid
	r.Decoded += o.Decoded
	r.Forwards += o.Forwards
	r.GoldFields += o.GoldFields
	r.CorrectFields += o.CorrectFields
	r.FreeJSON += o.FreeJSON
	r.FreeValid += o.FreeValid
	r.FreeTokens += o.FreeTokens
	r.FreeForwards += o.FreeForwards
	r.FreeCorrectFields += o.FreeCorrectFields
}

// printDir writes a directory's (or the total's) summary: coverage,
// compliance (valid outputs over returned ones; refusals returned none),
// tokens per forward and field accuracy.
func printDir(w io.Writer, name string, r dirReport) {
	returned := r.Attempts - r.Refused
	fmt.Fprintf(w, "%s: coverage %d/%d schemas compiled (%.1f%%)", name, r.compiled, r.schemas, pct(r.compiled, r.schemas))
	if r.failed > 0 {
		fmt.Fprintf(w, ", %d failed", r.failed)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s: compliance %d/%d returned outputs valid (%.1f%%), %d of %d extractions refused\n",
		name, r.Valid, returned, pct(r.Valid, returned), r.Refused, r.Attempts)
	fmt.Fprintf(w, "%s: scaffolded %d tokens decoded in %d forwards (%.2f tokens per forward)\n",
		name, r.Decoded, r.Forwards, float64(r.Decoded)/float64(max(r.Forwards, 1)))
	if !r.gold {
		fmt.Fprintf(w, "%s: field accuracy: no held-out cases (NAME.jsonl)\n", name)
		return
	}
	fmt.Fprintf(w, "%s: field accuracy: scaffolded %d/%d (%.1f%%), unscaffolded %d/%d (valid %d); unscaffolded %d tokens in %d forwards (%.2f tokens per forward)\n",
		name, r.CorrectFields, r.GoldFields, pct(r.CorrectFields, r.GoldFields), r.FreeCorrectFields, r.GoldFields, r.FreeValid,
		r.FreeTokens, r.FreeForwards, float64(r.FreeTokens)/float64(max(r.FreeForwards, 1)))
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func readCases(path string) ([]schema.Case, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []schema.Case
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var c schema.Case
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		cases = append(cases, c)
	}
	return cases, sc.Err()
}
