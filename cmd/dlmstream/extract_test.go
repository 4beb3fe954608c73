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
		"bad.json":      `{"type":"object","properties":{"x":{"not":{"type":"string"}}}}`,
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
		for _, want := range []string{"bad", "unsupported: schema: not at /properties/x/not", "coverage 2/3 schemas", "compliance 2/2 outputs valid", "field accuracy: scaffolded"} {
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
