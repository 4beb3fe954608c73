package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// eval speech and eval vision end with the summary line the issue names.
func TestEval(t *testing.T) {
	tests := []struct {
		args []string
		last string
	}{
		{[]string{"speech", "../../testdata/heldout/speech", "--model", demoSpeech, "--limit", "6"},
			`^WER \d+\.\d\d% exact \d+\.\d% tokens/forward \d+\.\d\d forwards/clip \d+\.\d\d$`},
		{[]string{"speech", "../../testdata/heldout/speech", "--model", demoSpeech, "--limit", "3", "--prior", "none", "--policy", "threshold", "--tau", "0.9"},
			`^WER \d+\.\d\d% exact \d+\.\d% tokens/forward \d+\.\d\d forwards/clip \d+\.\d\d$`},
		{[]string{"vision", "../../testdata/heldout/vision", "--model", demoVision, "--limit", "6"},
			`^exact \d+\.\d% CIDEr-D \d+\.\d\d tokens/forward \d+\.\d\d$`},
		{[]string{"vision", "../../testdata/heldout/vision", "--model", demoVision, "--limit", "2", "--keep-image-tokens", "1,0.5"},
			`^exact \d+\.\d% CIDEr-D \d+\.\d\d tokens/forward \d+\.\d\d$`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:1], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := runEval(tt.args, &out, &errb); err != nil {
				t.Fatalf("%v\n%s", err, errb.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if !regexp.MustCompile(tt.last).MatchString(lines[len(lines)-1]) {
				t.Errorf("last line %q does not match %s\n%s", lines[len(lines)-1], tt.last, out.String())
			}
		})
	}
	if err := runEval([]string{"audio"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("eval audio accepted")
	}
	var out bytes.Buffer
	if err := runEval([]string{"vision", "../../testdata/heldout/vision", "--model", demoVision, "--limit", "1", "--keep-image-tokens", "1,0.5"}, &out, &bytes.Buffer{}); err != nil ||
		!strings.Contains(out.String(), "static, keep 100%") || !strings.Contains(out.String(), "static, keep 50%") {
		t.Errorf("--keep-image-tokens 1,0.5: a mode per share: %v\n%s", err, out.String())
	}
	if err := runEval([]string{"vision", "../../testdata/heldout/vision", "--model", demoVision, "--keep-image-tokens", "0"}, &out, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "want shares in (0, 1]") {
		t.Errorf("--keep-image-tokens 0: err = %v", err)
	}
}
