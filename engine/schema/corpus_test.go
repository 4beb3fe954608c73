package schema

import (
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/engine/decode"
)

var update = flag.Bool("update", false, "rewrite the golden scaffolds in testdata/schemas/golden")

const corpusDir = "../../testdata/schemas"

type corpusEntry struct {
	name string
	src  []byte
}

func corpus(t testing.TB) []corpusEntry {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil || len(files) < 100 {
		t.Fatalf("corpus: %d schemas (%v), want >= 100", len(files), err)
	}
	var out []corpusEntry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, corpusEntry{strings.TrimSuffix(filepath.Base(f), ".json"), b})
	}
	return out
}

// TestGoldenScaffolds renders every corpus schema's scaffold (or its
// compile error) for tiny-sdar's tokenizer and compares with the goldens.
func TestGoldenScaffolds(t *testing.T) {
	tok, v := tinyVocab(t)
	for _, c := range corpus(t) {
		var got string
		s, err := Compile(c.src)
		if err == nil {
			var sc *Scaffold
			if sc, err = newScaffold(s, tok, v, Options{}.withDefaults()); err == nil {
				got = sc.Render() + "\n"
			}
		}
		if err != nil {
			got = "error: " + err.Error() + "\n"
		}
		path := filepath.Join(corpusDir, "golden", c.name+".scaffold")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update)", c.name, err)
		}
		if got != string(want) {
			t.Errorf("%s: scaffold\n%s\nwant\n%s", c.name, got, want)
		}
	}
}

// TestCorpusRandomLogits decodes every compiled corpus schema with random
// logits in random order: all outputs must validate, and coverage must be
// at least 95%.
func TestCorpusRandomLogits(t *testing.T) {
	tok, v := tinyVocab(t)
	entries := corpus(t)
	compiled := 0
	for i, c := range entries {
		s, err := Compile(c.src)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Errorf("%s: unclear error %v", c.name, err)
			}
			t.Logf("%s: %v", c.name, err)
			continue
		}
		compiled++
		r := rand.New(rand.NewPCG(uint64(i), 1))
		sc, err := newScaffold(s, tok, v, Options{}.withDefaults())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		randomPicks(r, sc)
		res, err := sc.decode(context.Background(), s, &Result{}, fakeDecode(r, v), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	t.Logf("coverage %d/%d", compiled, len(entries))
	if compiled*100 < 95*len(entries) {
		t.Errorf("coverage %d/%d below 95%%", compiled, len(entries))
	}
}

// raceEnabled is set by race_test.go under the race detector.
var raceEnabled bool

// TestCorpusTinySDAR extracts every compiled corpus schema with the
// tiny-sdar engine (random weights) under small budgets and a short
// instruction; -short takes every fourth schema, the race detector every
// eighth.
func TestCorpusTinySDAR(t *testing.T) {
	e := tinyEngine(t)
	entries := corpus(t)
	valid, attempts, fwd, dec := 0, 0, 0, 0
	for i, c := range entries {
		stride := 1
		if testing.Short() {
			stride = 4
		}
		if raceEnabled {
			stride = 8
		}
		if i%stride != 0 {
			continue
		}
		s, err := Compile(c.src)
		if err != nil {
			continue
		}
		attempts++
		opts := Options{StringBudget: 3, NumberBudget: 4, ArrayItems: 1, Policy: decode.Threshold{Tau: 0.9}, Instruction: "Extract JSON."}
		res, err := Extract(context.Background(), e, "Example text for "+c.name+".", s, opts)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		valid++
		fwd += res.Forwards
		dec += res.Decoded
	}
	t.Logf("compliance %d/%d, %d decoded tokens in %d forwards", valid, attempts, dec, fwd)
}
