package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInferSchema(t *testing.T) {
	dir := t.TempDir()
	contact := `{"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":["integer","null"],"minimum":0,"maximum":120},"vip":{"type":"boolean"}},"required":["name","vip"],"additionalProperties":false}`
	files := map[string]string{
		"contact.json":  contact,
		"contact.jsonl": `{"input":"Bob, 42, VIP","output":{"name":"Bob","age":42,"vip":true}}` + "\n",
		"tags.json":     `{"type":"array","items":{"enum":["a","b"]},"maxItems":2}`,
		"bad.json":      `{"type":"object","properties":{"x":{"not":{"pattern":"^x"}}}}`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model := filepath.Join(testModels, "tiny-sdar")
	t.Run("file", func(t *testing.T) {
		var out, errb bytes.Buffer
		err := runInfer([]string{"--model", model, "--schema", filepath.Join(dir, "contact.json"), "--prompt", "Bob, 42, VIP", "--policy", "threshold"}, &out, &errb)
		if err != nil {
			t.Fatal(err, errb.String())
		}
		var v map[string]any
		if err := json.Unmarshal(out.Bytes(), &v); err != nil || v["name"] == nil || v["vip"] == nil {
			t.Fatalf("output %q: %v", out.String(), err)
		}
	})
	t.Run("dir", func(t *testing.T) {
		var out, errb bytes.Buffer
		err := runInfer([]string{"--model", model, "--schema", dir, "--policy", "threshold"}, &out, &errb)
		if err != nil {
			t.Fatal(err, errb.String())
		}
		for _, want := range []string{"bad", "unsupported: schema: not at /properties/x/not", "coverage 2/3 schemas", "compliance 2/2 returned outputs valid", "field accuracy: scaffolded"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		err := runInfer([]string{"--model", model, "--schema", filepath.Join(dir, "bad.json"), "--prompt", "x"}, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "/properties/x/not") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestInferSchemaDirs measures a tree of schema directories: every schema
// gets a line whatever fails (a refused extraction, malformed cases, a
// schema that does not compile), and each directory its summary, then the
// total.
func TestInferSchemaDirs(t *testing.T) {
	root := t.TempDir()
	// 64 items of three strings: a canvas longer than tiny-sdar's context.
	long := `{"type":"array","minItems":64,"maxItems":64,"items":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}},"required":["a","b","c"],"additionalProperties":false}}`
	files := map[string]string{
		"a/flag.json":       `{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`,
		"a/flag.jsonl":      `{"input":"yes","output":{"ok":true}}` + "\n",
		"a/long.json":       long,
		"b/cases.json":      `{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"]}`,
		"b/cases.jsonl":     "not json\n",
		"b/not.json":        `{"not":{"pattern":"^x"}}`,
		"b/deeper/tag.json": `{"enum":["x","y"]}`,
	}
	for name, src := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	err := runInfer([]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--schema", root, "--policy", "threshold"}, &out, &errb)
	if err != nil {
		t.Fatal(err, errb.String())
	}
	tests := []struct{ name, want string }{
		{"directory a", "== a (2 schemas)"},
		{"refusal", "max_position_embeddings"},
		{"a's coverage", "a: coverage 2/2 schemas compiled (100.0%)"},
		{"a's compliance", "a: compliance 1/1 returned outputs valid (100.0%), 1 of 2 extractions refused"},
		{"a's tokens per forward", "a: scaffolded "},
		{"a's field accuracy", "a: field accuracy: scaffolded "},
		{"malformed cases", "cases                        failed: "},
		{"unsupported", "not                          unsupported: schema: not at /not"},
		{"b's coverage", "b: coverage 1/2 schemas compiled (50.0%), 1 failed"},
		{"b's field accuracy", "b: field accuracy: no held-out cases"},
		{"nested directory", "b/deeper: coverage 1/1 schemas compiled"},
		{"total coverage", "total: coverage 4/5 schemas compiled (80.0%), 1 failed"},
		{"total compliance", "total: compliance 2/2 returned outputs valid (100.0%), 1 of 3 extractions refused"},
		{"total field accuracy", "total: field accuracy: scaffolded "},
	}
	for _, tt := range tests {
		if !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: output lacks %q:\n%s", tt.name, tt.want, out.String())
		}
	}
}
