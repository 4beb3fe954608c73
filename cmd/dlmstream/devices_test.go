package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDevices: the command names the CPU kernels and says, for CUDA and
// NVRTC each, what it found or why there is none.
func TestDevices(t *testing.T) {
	var out, errb bytes.Buffer
	if err := runDevices(nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "cpu: kernels ") {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, p := range []string{"cuda: ", "nvrtc: "} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, p)
		}
		if !found {
			t.Errorf("no %q line in:\n%s", p, out.String())
		}
	}
	if strings.Contains(out.String(), "cuda: cuda:") {
		t.Errorf("repeated prefix:\n%s", out.String())
	}
}
