package pipelines

import (
	"strings"
	"testing"
)

// beamHarness is the package of Beam's SDK harness whose shutdown races
// (v2.77.0 harness.go: MainWithOptions closes respc while a bundle's
// goroutine that passed the shutdown check sends its response on it). It
// shows only when a job fails while another bundle still runs.
const beamHarness = "github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness."

// raceReports splits a race-enabled process's stderr into its data-race
// reports (each from "WARNING: DATA RACE" to the closing rule).
func raceReports(stderr string) []string {
	var out []string
	for _, part := range strings.Split(stderr, "WARNING: DATA RACE")[1:] {
		if i := strings.Index(part, "=================="); i >= 0 {
			part = part[:i]
		}
		out = append(out, strings.TrimSpace(part))
	}
	return out
}

// upstreamRace reports whether a race report is Beam's harness shutdown
// race: the first frame outside the Go runtime of both accesses is in
// beamHarness.
func upstreamRace(report string) bool {
	accesses := 0
	for _, stack := range strings.Split(report, "\n\n") {
		lines := strings.Split(strings.TrimSpace(stack), "\n")
		if len(lines) == 0 || !strings.Contains(lines[0], " at 0x") {
			continue // a "Goroutine N created at" stack
		}
		accesses++
		frame := ""
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "runtime.") || strings.HasPrefix(l, "/") {
				continue
			}
			frame = l
			break
		}
		if !strings.HasPrefix(frame, beamHarness) {
			return false
		}
	}
	return accesses == 2
}

// checkChildRaces fails t for every data race in a child's stderr except
// Beam's harness shutdown race, which it logs.
func checkChildRaces(t *testing.T, stderr string) {
	t.Helper()
	for _, r := range raceReports(stderr) {
		if upstreamRace(r) {
			t.Logf("Beam's harness shutdown race in the child (upstream, tolerated):\n%s", tail(r, 600))
			continue
		}
		t.Errorf("data race in the child:\n%s", r)
	}
}

func TestUpstreamRace(t *testing.T) {
	const beam = `
==================
WARNING: DATA RACE
Write at 0x00c0007a27f0 by goroutine 3131:
  runtime.closechan()
      /usr/local/go/src/runtime/chan.go:414 +0x0
  github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness.MainWithOptions()
      /root/go/pkg/mod/github.com/apache/beam/sdks/v2@v2.77.0/go/pkg/beam/core/runtime/harness/harness.go:195 +0x1d78

Previous read at 0x00c0007a27f0 by goroutine 3200:
  runtime.chansend()
      /usr/local/go/src/runtime/chan.go:176 +0x0
  github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness.MainWithOptions.func4()
      /root/go/pkg/mod/github.com/apache/beam/sdks/v2@v2.77.0/go/pkg/beam/core/runtime/harness/harness.go:213 +0x104

Goroutine 3131 (running) created at:
  github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal/extworker.(*Loopback).StartWorker()
      /root/go/pkg/mod/github.com/apache/beam/sdks/v2@v2.77.0/go/pkg/beam/runners/universal/extworker/extworker.go:95 +0x9ed
==================
`
	const ours = `
==================
WARNING: DATA RACE
Write at 0x00c000123456 by goroutine 7:
  dlmstream/connectors/files.(*writeJSONLFn).ProcessElement()
      /work/main/connectors/files/jsonl.go:80 +0x44

Previous read at 0x00c000123456 by goroutine 8:
  github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness.MainWithOptions.func4()
      /root/go/pkg/mod/github.com/apache/beam/sdks/v2@v2.77.0/go/pkg/beam/core/runtime/harness/harness.go:213 +0x104
==================
`
	for _, c := range []struct {
		name     string
		stderr   string
		reports  int
		upstream bool
	}{
		{"Beam's shutdown race", "log line\n" + beam, 1, true},
		{"a race in our code", ours, 1, false},
		{"both", beam + ours, 2, false},
		{"none", "time=... level=INFO msg=done\n", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := raceReports(c.stderr)
			if len(rs) != c.reports {
				t.Fatalf("%d reports, want %d", len(rs), c.reports)
			}
			all := len(rs) > 0
			for _, r := range rs {
				all = all && upstreamRace(r)
			}
			if all != c.upstream {
				t.Errorf("all upstream = %v, want %v", all, c.upstream)
			}
		})
	}
}
