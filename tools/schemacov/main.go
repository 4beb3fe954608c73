// Command schemacov measures how much of a corpus of real-world JSON
// Schemas engine/schema compiles (coverage), and, with -extract N, whether
// the outputs of the real extraction on a few of them validate
// (compliance), per source.
//
//	go run ./tools/schemacov -corpus /work/corpus            # coverage
//	go run ./tools/schemacov -corpus /work/corpus -extract 8 # and compliance
//
// A corpus holds one directory per source (tools/schemacov/fetch.sh writes
// JSONSchemaBench's splits and SchemaStore's catalog that way), each with
// *.json schema files; a directory of *.json files is one source. Every
// schema is compiled under -timeout with panics recovered, each counted;
// the schemas that do not compile are grouped by the *schema.CompileError's
// keyword. With -extract N, N compiled schemas per source (evenly spread)
// are extracted with -model from a short synthetic text and every returned
// output is validated twice (the schema's validator and one compiled afresh
// from the file); compliance is valid outputs over returned outputs, and
// extractions that return no output are refusals, grouped by reason. Any
// invalid output is listed with its schema's path and makes the command
// exit with status 1.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"dlmstream/engine"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "schemacov:", err)
		os.Exit(1)
	}
}

// errInvalid reports that some returned output did not validate.
var errInvalid = errors.New("returned outputs that do not validate (listed above)")

// config is what the flags say.
type config struct {
	corpus      string
	sources     []string
	failures    int
	jsonOut     bool
	extract     int
	model       string
	timeout     time.Duration
	extractTime time.Duration
	instruction string
	arrayItems  int
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("schemacov", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.corpus, "corpus", "tools/schemacov/testdata", "corpus directory: one subdirectory of *.json schemas per source")
	src := fs.String("source", "", "comma-separated sources to measure (default: every subdirectory)")
	fs.IntVar(&c.failures, "failures", 5, "failure reasons to print per source, most frequent first (-1: all)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the reports as JSON")
	fs.IntVar(&c.extract, "extract", 0, "extract this many compiled schemas per source and validate the outputs")
	fs.StringVar(&c.model, "model", "testdata/models/tiny-sdar", "checkpoint for -extract")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per-schema compile timeout")
	fs.DurationVar(&c.extractTime, "extract-timeout", 60*time.Second, "per-schema extraction timeout")
	fs.StringVar(&c.instruction, "instruction", "Extract the record in the user's text as JSON.",
		"system message for -extract (empty: engine/schema's default, which quotes the whole schema)")
	fs.IntVar(&c.arrayItems, "array-items", 0, "items an array scaffolds in -extract (0: engine/schema's default, 3)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *src != "" {
		c.sources = strings.Split(*src, ",")
	}
	return c, nil
}

// run measures the corpus and prints the reports.
func run(args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	reports, err := measure(c, stderr)
	if err != nil {
		return err
	}
	all := append(reports, total(reports))
	for _, r := range all {
		r.Failures, r.OtherFailures = top(reasonMap(r.Failures), c.failures)
	}
	if c.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"sources": reports, "total": all[len(all)-1]}); err != nil {
			return err
		}
	} else {
		printReports(stdout, all)
	}
	for _, r := range reports {
		if r.Extract != nil && len(r.Extract.Invalid) > 0 {
			return errInvalid
		}
	}
	return nil
}

// measure compiles (and extracts) every source of the corpus.
func measure(c config, stderr io.Writer) ([]*Report, error) {
	srcs, err := sources(c.corpus, c.sources)
	if err != nil {
		return nil, err
	}
	var x *extractor
	if c.extract > 0 {
		e, err := engine.New(c.model, engine.Options{})
		if err != nil {
			return nil, err
		}
		defer e.Close()
		x = &extractor{e: e, timeout: c.extractTime, compileTimeout: c.timeout,
			instruction: c.instruction, arrayItems: c.arrayItems}
	}
	var reports []*Report
	for _, s := range srcs {
		start := time.Now()
		r := compileSource(s, c.timeout)
		fmt.Fprintf(stderr, "%s: %d/%d compiled in %v\n", r.Source, r.Compiled, r.Schemas, time.Since(start).Round(time.Millisecond))
		if x != nil {
			start = time.Now()
			x.extractSource(r, c.extract)
			fmt.Fprintf(stderr, "%s: %d extractions in %v\n", r.Source, r.Extract.Tried, time.Since(start).Round(time.Millisecond))
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// total sums the reports (failure reasons merged, all kept).
func total(reports []*Report) *Report {
	t := &Report{Source: "total"}
	reasons := map[string]*Reason{}
	refusals := map[string]*Reason{}
	merge := func(into map[string]*Reason, rs []Reason) {
		for _, r := range rs {
			if m := into[r.Reason]; m != nil {
				m.Count += r.Count
			} else {
				into[r.Reason] = &Reason{Reason: r.Reason, Count: r.Count, Example: r.Example}
			}
		}
	}
	for _, r := range reports {
		t.Schemas += r.Schemas
		t.Compiled += r.Compiled
		t.Panics += r.Panics
		t.Timeouts += r.Timeouts
		merge(reasons, r.Failures)
		if e := r.Extract; e != nil {
			if t.Extract == nil {
				t.Extract = &ExtractReport{}
			}
			t.Extract.Tried += e.Tried
			t.Extract.Returned += e.Returned
			t.Extract.Valid += e.Valid
			t.Extract.Decoded += e.Decoded
			t.Extract.Forwards += e.Forwards
			merge(refusals, e.Refusals)
		}
	}
	t.Coverage = pct(t.Compiled, t.Schemas)
	t.Failures, _ = top(reasons, -1)
	if e := t.Extract; e != nil {
		e.Compliance = pct(e.Valid, e.Returned)
		e.TPF = float64(e.Decoded) / float64(max(e.Forwards, 1))
		e.Refusals, _ = top(refusals, -1)
	}
	return t
}

// printReports writes a table of the reports (the total last), then each
// one's failure reasons, refusals and invalid outputs.
func printReports(w io.Writer, reports []*Report) {
	fmt.Fprintf(w, "%-16s %8s %8s %9s %7s %8s", "source", "schemas", "compiled", "coverage", "panics", "timeouts")
	if reports[0].Extract != nil {
		fmt.Fprintf(w, " %9s %9s %11s %6s", "extracted", "returned", "compliance", "tpf")
	}
	fmt.Fprintln(w)
	for _, r := range reports {
		fmt.Fprintf(w, "%-16s %8d %8d %8.1f%% %7d %8d", r.Source, r.Schemas, r.Compiled, r.Coverage, r.Panics, r.Timeouts)
		if e := r.Extract; e != nil {
			fmt.Fprintf(w, " %9d %9d %10.1f%% %6.2f", e.Tried, e.Returned, e.Compliance, e.TPF)
		}
		fmt.Fprintln(w)
	}
	for _, r := range reports {
		fs := r.Failures
		if len(fs) == 0 && r.OtherFailures == 0 && (r.Extract == nil || len(r.Extract.Refusals)+len(r.Extract.Invalid) == 0) {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", r.Source)
		for _, f := range fs {
			fmt.Fprintf(w, "  %5d  %s\n         e.g. %s\n", f.Count, f.Reason, oneLine(f.Example, 200))
		}
		if r.OtherFailures > 0 {
			fmt.Fprintf(w, "  %5d  (other reasons)\n", r.OtherFailures)
		}
		if e := r.Extract; e != nil {
			for _, f := range e.Refusals {
				fmt.Fprintf(w, "  %5d  refused: %s\n         e.g. %s\n", f.Count, f.Reason, oneLine(f.Example, 200))
			}
			for _, inv := range e.Invalid {
				fmt.Fprintf(w, "  INVALID %s: %s\n    output %s\n", inv.Path, inv.Error, oneLine(inv.Output, 300))
			}
		}
	}
}

func reasonMap(rs []Reason) map[string]*Reason {
	m := make(map[string]*Reason, len(rs))
	for i := range rs {
		m[rs[i].Reason] = &rs[i]
	}
	return m
}
