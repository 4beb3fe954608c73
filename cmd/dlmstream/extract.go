package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"dlmstream/engine"
	"dlmstream/engine/schema"
)

// runSchema serves infer --schema PATH. With a schema file it extracts
// JSON from the prompt and prints it. With a directory it measures the
// corpus: every *.json schema is compiled (coverage) and extracted
// (compliance, tokens per forward); NAME.jsonl beside NAME.json holds
// held-out cases ({"input": ..., "output": gold}) scored for field
// accuracy against unscaffolded generation; schemas without cases use the
// prompt (or a stock sentence) as input.
func runSchema(ctx context.Context, e *engine.Engine, path, prompt string, opts schema.Options, stdout, stderr io.Writer) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
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
	files, err := filepath.Glob(filepath.Join(path, "*.json"))
	if err != nil {
		return err
	}
	var tot schema.Report
	compiled, withGold := 0, false
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s, err := schema.Compile(src)
		if err != nil {
			fmt.Fprintf(stdout, "%-28s unsupported: %v\n", name, err)
			continue
		}
		compiled++
		cases, err := readCases(strings.TrimSuffix(f, ".json") + ".jsonl")
		if err != nil {
			return err
		}
		gold := len(cases) > 0
		if !gold {
			in := prompt
			if in == "" {
				in = "Example text for " + strings.ReplaceAll(name, "_", " ") + "."
			}
			cases = []schema.Case{{Input: in}}
		}
		withGold = withGold || gold
		r, err := schema.Measure(ctx, e, s, cases, opts, gold)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(stdout, "%-28s valid %d/%d, %d tokens in %d forwards", name, r.Valid, r.Attempts, r.Decoded, r.Forwards)
		if gold {
			fmt.Fprintf(stdout, ", fields %d/%d (unscaffolded %d/%d, valid %d/%d)", r.CorrectFields, r.GoldFields, r.FreeCorrectFields, r.GoldFields, r.FreeValid, r.Attempts)
		}
		fmt.Fprintln(stdout)
		for _, msg := range r.Errors {
			fmt.Fprintf(stdout, "  %s\n", msg)
		}
		tot.Attempts += r.Attempts
		tot.Valid += r.Valid
		tot.Decoded += r.Decoded
		tot.Forwards += r.Forwards
		tot.GoldFields += r.GoldFields
		tot.CorrectFields += r.CorrectFields
		tot.FreeValid += r.FreeValid
		tot.FreeTokens += r.FreeTokens
		tot.FreeForwards += r.FreeForwards
		tot.FreeCorrectFields += r.FreeCorrectFields
	}
	fmt.Fprintf(stdout, "coverage %d/%d schemas compiled (%.1f%%)\n", compiled, len(files), 100*float64(compiled)/float64(max(len(files), 1)))
	fmt.Fprintf(stdout, "compliance %d/%d outputs valid (%.1f%%)\n", tot.Valid, tot.Attempts, 100*float64(tot.Valid)/float64(max(tot.Attempts, 1)))
	fmt.Fprintf(stdout, "scaffolded: %d tokens decoded in %d forwards (%.2f tokens per forward)\n", tot.Decoded, tot.Forwards, float64(tot.Decoded)/float64(max(tot.Forwards, 1)))
	if withGold {
		fmt.Fprintf(stdout, "field accuracy: scaffolded %d/%d, unscaffolded %d/%d (valid %d); unscaffolded %d tokens in %d forwards (%.2f tokens per forward)\n",
			tot.CorrectFields, tot.GoldFields, tot.FreeCorrectFields, tot.GoldFields, tot.FreeValid,
			tot.FreeTokens, tot.FreeForwards, float64(tot.FreeTokens)/float64(max(tot.FreeForwards, 1)))
	}
	return nil
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
