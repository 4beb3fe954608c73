package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var testModels = filepath.Join("..", "..", "testdata", "models")

func TestInferTopTokens(t *testing.T) {
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm", "tiny-qwen2", "tiny-qwen3"} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := runInfer([]string{"--model", filepath.Join(testModels, name), "--prompt", "Order 42 shipped to Oslo", "--top", "5"}, &out, &errb)
			if err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 5 {
				t.Fatalf("got %d lines, want 5:\n%s", len(lines), out.String())
			}
			for _, l := range lines {
				if !strings.Contains(l, "p=") {
					t.Errorf("line %q lacks a probability", l)
				}
			}
		})
	}
}

func TestInferGenerate(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{
		{"--max-new", "9"}, {"--max-new", "9", "--policy", "threshold", "--tau", "0.5"}, {"--max-new", "9", "--ar"},
		{"--max-new", "9", "--temperature", "0.8", "--top-p", "0.9", "--seed", "3"}, {"--max-new", "9", "--policy", "oracle", "--k", "4"},
		{"--max-new", "9", "--policy", "freedave"}, {"--max-new", "9", "--policy", "threshold", "--flashblock"},
	} {
		out.Reset()
		errb.Reset()
		err := runInfer(append([]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "Hello"}, args...), &out, &errb)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
	}
	// 9 tokens unless a stop token came first; one forward per token plus one
	// commit forward per finished block, plus the prompt prefill.
	if !strings.Contains(errb.String(), " tokens, ") || !strings.Contains(errb.String(), "forwards") {
		t.Errorf("no summary line in stderr:\n%s", errb.String())
	}
}

// --freedave verifies --policy: the same text, in fewer forwards (5
// against the threshold's 8 on this prompt when measured).
func TestInferFreeDaveOver(t *testing.T) {
	run := func(extra ...string) (string, string) {
		var out, errb bytes.Buffer
		args := append([]string{"--model", demoTextModel, "--prompt", "Sort in ascending order: 70, 99, 35, 52", "--max-new", "48", "--policy", "threshold", "--tau", "0.9"}, extra...)
		if err := runInfer(args, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		return out.String(), errb.String()
	}
	forwards := func(s string) int {
		m := regexp.MustCompile(`(\d+) forwards`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no forwards in %q", s)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	want, wantErr := run()
	got, gotErr := run("--freedave")
	if got != want {
		t.Errorf("--freedave printed %q, the threshold alone %q", got, want)
	}
	if g, w := forwards(gotErr), forwards(wantErr); g >= w {
		t.Errorf("--freedave took %d forwards, the threshold alone %d", g, w)
	}
	tree, treeErr := run("--freedave", "--freedave-tree", "64", "--freedave-alt", "0.005")
	if tree != want {
		t.Errorf("--freedave with a tree printed %q, the threshold alone %q", tree, want)
	}
	if g, w := forwards(treeErr), forwards(gotErr); g > w {
		t.Errorf("--freedave with a tree took %d forwards, with the chain %d", g, w)
	}
}

func TestInferErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar")}, "--prompt is required"},
		{[]string{"--model", "/nonexistent", "--prompt", "x"}, "--model: no checkpoint (config.json) at /nonexistent"},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--weights", "fp4"}, `unknown weight type "fp4"`},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--policy", "magic"}, `unknown --policy "magic"`},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--policy", "freedave", "--freedave"}, "--freedave verifies another --policy"},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--max-new", "4", "--policy", "credit", "--freedave"}, "FreeDave cannot verify *decode.Credit"},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--max-new", "4", "--flashblock", "--ar"}, "block size > 1"},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--max-new", "4", "--policy", "threshold", "--freedave-tree", "8"}, "add --freedave"},
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--max-new", "4", "--policy", "threshold", "--freedave", "--freedave-alt", "0.1"}, "set Tree too"},
	}
	for _, tt := range tests {
		err := runInfer(tt.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("runInfer(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestBenchOnCheckpoint(t *testing.T) {
	var out bytes.Buffer
	err := runBench([]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--tokens", "1,4", "--iters", "1", "--context", "16", "--bw-bytes", "1048576"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"read bandwidth:", "weights read per forward", "median_ms", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBenchDecode(t *testing.T) {
	var out bytes.Buffer
	err := runBench([]string{"--decode", "--model", filepath.Join(testModels, "tiny-sdar"), "--batch", "1,2", "--max-new", "8", "--prompt", "5", "--bw-bytes", "1048576"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AR", "threshold 0.9", "oracle k=4", "TPF", "theory", "peak RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("bench --decode output lacks %q:\n%s", want, out.String())
		}
	}
}

// infer's full-canvas knobs reach the decoder (each changes the forwards
// of the same request on tiny-llada), a static schedule defaults to one
// token per step there, and block-causal checkpoints refuse the knobs.
func TestInferCanvas(t *testing.T) {
	llada := []string{"--model", filepath.Join(testModels, "tiny-llada"), "--prompt", "Hello", "--max-new", "48"}
	forwards := func(args ...string) string {
		var errb bytes.Buffer
		if err := runInfer(append(slices.Clone(llada), args...), &bytes.Buffer{}, &errb); err != nil {
			t.Fatalf("%q: %v\n%s", args, err, errb.String())
		}
		m := regexp.MustCompile(`(\d+ tokens, \d+ forwards)`).FindString(errb.String())
		if m == "" {
			t.Fatalf("%q: no summary line\n%s", args, errb.String())
		}
		return m
	}
	// A static schedule's default spans the canvas block: one token per step.
	if got := forwards(); got != "48 tokens, 48 forwards" {
		t.Errorf("default static schedule on a full-canvas model: %s, want one token per step", got)
	}
	llada = append(llada, "--steps", "4") // 4 steps a block: the knobs show in the forwards
	fixed := forwards()
	for _, args := range [][]string{
		{"--adablock", "0.001"},
		{"--length", "rho-eos", "--length-init", "8", "--rho-lo", "0", "--rho-hi", "1e-6"},
		{"--length", "daedal", "--length-init", "8", "--daedal-expand", "0.03"},
		{"--block-len", "8"},
	} {
		if got := forwards(args...); got == fixed {
			t.Errorf("%q: %s, as with fixed blocks and length", args, got)
		}
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model", filepath.Join(testModels, "tiny-sdar"), "--prompt", "x", "--max-new", "8", "--adablock", "0.5"}, "are for full-canvas models (LLaDA, Dream); sdar decodes in trained blocks of 4"},
		{append(slices.Clone(llada), "--length", "elastic"), `--length "elastic": want fixed, rho-eos or daedal`},
		{append(slices.Clone(llada), "--adablock", "2"), "--adablock 2: want a probability in (0, 1]"},
	}
	for _, tt := range tests {
		err := runInfer(tt.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("runInfer(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}
