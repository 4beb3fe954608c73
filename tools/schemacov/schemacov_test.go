package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/schema"
)

const tinyModel = "../../testdata/models/tiny-sdar"

// TestSample runs the harness, with extraction, over the committed sample
// (testdata, SOURCES.md): it must run to the end, every source must
// compile some schemas, nothing may panic or time out, and every returned
// output must validate (run fails otherwise).
func TestSample(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"-corpus", "testdata", "-extract", "3", "-model", tinyModel, "-json", "-failures", "-1"}, &out, &errb)
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, out.String(), errb.String())
	}
	var got struct {
		Sources []Report
		Total   Report
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out.String())
	}
	if len(got.Sources) != 11 {
		t.Errorf("%d sources, want the 11 of testdata", len(got.Sources))
	}
	failed := 0
	for _, r := range got.Sources {
		if r.Compiled == 0 {
			t.Errorf("%s: no schema compiled", r.Source)
		}
		if r.Panics+r.Timeouts > 0 {
			t.Errorf("%s: %d panics, %d timeouts", r.Source, r.Panics, r.Timeouts)
		}
		for _, f := range r.Failures {
			failed += f.Count
		}
		e := r.Extract
		if e == nil || e.Tried != min(3, r.Compiled) {
			t.Fatalf("%s: extraction report %+v, want min(3, %d) tried", r.Source, e, r.Compiled)
		}
		if e.Valid != e.Returned || len(e.Invalid) > 0 {
			t.Errorf("%s: %d of %d returned outputs valid: %+v", r.Source, e.Valid, e.Returned, e.Invalid)
		}
		for _, f := range e.Refusals {
			if f.Reason == "panic" || f.Reason == "timeout" {
				t.Errorf("%s: %d extractions refused by %s: %s", r.Source, f.Count, f.Reason, f.Example)
			}
		}
	}
	if got.Total.Schemas != got.Total.Compiled+failed {
		t.Errorf("total: %d schemas, %d compiled + %d failed", got.Total.Schemas, got.Total.Compiled, failed)
	}
	if got.Total.Extract == nil || got.Total.Extract.Returned == 0 {
		t.Errorf("total: no extraction returned an output: %+v", got.Total.Extract)
	}
}

// TestSampleText checks the text report: a row per source and the total,
// and the failure reasons of the sample's schemas that do not compile.
func TestSampleText(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-corpus", "testdata", "-source", "Github_trivial,SchemaStore", "-failures", "2"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Github_trivial", "SchemaStore", "total", "$ref: only references within the document"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Every sample file is recorded in SOURCES.md, and the sample stays small.
func TestSampleSources(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || len(files) > 40 {
		t.Fatalf("%d sample schemas, want 1 to 40", len(files))
	}
	md, err := os.ReadFile(filepath.Join("testdata", "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel := filepath.ToSlash(strings.TrimPrefix(f, "testdata"+string(filepath.Separator)))
		if !bytes.Contains(md, []byte("`"+rel+"`")) {
			t.Errorf("SOURCES.md does not record %s", rel)
		}
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"1554 values, over the limit of 1024 (MaxEnumValues)", "N values, over the limit of N"},
		{`"base" requires "triangle", which has no schema under properties`, `"…" requires "…", which has no schema under properties`},
		{`if: two different values ({"a":1}, {"a":2}) cannot be merged`, "if: two different values"},
		{`validator: failing loading "https://x.org/a.json": invalid file url: https://x.org/a.json`, `validator: failing loading "…": invalid file url: …`},
		{"recursive reference to #/definitions/a needed more than 2 levels deep", "recursive reference to … needed more than N levels deep"},
		{"not supported by the scaffold compiler", "not supported by the scaffold compiler"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := kindOf(tt.msg); got != tt.want {
				t.Errorf("kindOf(%q) = %q, want %q", tt.msg, got, tt.want)
			}
		})
	}
}

func TestSpread(t *testing.T) {
	tests := []struct {
		count, n int
		want     []int
	}{
		{10, 3, []int{0, 3, 6}},
		{2, 5, []int{0, 1}},
		{0, 4, []int{}},
		{5, 5, []int{0, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		if got := spread(tt.count, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("spread(%d, %d) = %v, want %v", tt.count, tt.n, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-corpus", "testdata", "extra"}, "unexpected arguments"},
		{[]string{"-corpus", "testdata", "-source", "Nowhere"}, "no *.json schemas under testdata"},
		{[]string{"-corpus", "/nonexistent"}, "no such file"},
		{[]string{"-corpus", "testdata", "-extract", "1", "-model", "/nonexistent"}, "/nonexistent"},
	}
	for _, tt := range tests {
		err := run(tt.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error holding %q", tt.args, err, tt.want)
		}
	}
}

func TestRefusalOf(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&schema.ValidationError{Pointer: "/a", Msg: "jsonschema validation failed; - at '/a': 'oneOf' failed, subschemas 0, 1 matched"}, "invalid after repairs: oneOf"},
		{&schema.ValidationError{Msg: "not JSON"}, "invalid after repairs"},
		{fmt.Errorf("wrapped: %w", &schema.CompileError{Keyword: "scaffold", Msg: "canvas longer than 32768 tokens (MaxCanvasTokens)"}), "scaffold: canvas longer than N tokens"},
		{&schema.CanvasError{Limit: "context", Context: 2048}, "context length"},
		{&schema.CanvasError{Limit: "kv budget", KVBudget: 1 << 20}, "kv budget"},
		{context.DeadlineExceeded, "timeout"},
		{errors.New("engine: the loop stopped early"), "engine: the loop"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := refusalOf(context.Background(), tt.err); got != tt.want {
				t.Errorf("refusalOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
