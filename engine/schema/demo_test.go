package schema

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

// heldOut reads the first n cases of testdata/heldout/text/schemas/NAME.jsonl.
func heldOut(t testing.TB, name string, n int) []Case {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "heldout", "text", "schemas", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(cases) < n {
		var c Case
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestDemoTextFieldAccuracy extracts held-out texts with the trained demo
// text checkpoint (tools/train/text): every output must validate, and the
// scaffolded field accuracy must stay at the level measured when the
// checkpoint was trained (MODEL_CARD.md), with greedy threshold decoding.
func TestDemoTextFieldAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 24 held-out texts")
	}
	e, err := engine.New(filepath.Join("..", "..", "testdata", "models", "demo-text"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var tot Report
	for _, name := range []string{"order", "person", "event", "device"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "heldout", "text", "schemas", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r, err := Measure(context.Background(), e, s, heldOut(t, name, 6), Options{Policy: decode.Threshold{Tau: 0.9}}, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: valid %d/%d, fields %d/%d, %d tokens in %d forwards", name, r.Valid, r.Attempts, r.CorrectFields, r.GoldFields, r.Decoded, r.Forwards)
		tot.Attempts += r.Attempts
		tot.Valid += r.Valid
		tot.GoldFields += r.GoldFields
		tot.CorrectFields += r.CorrectFields
	}
	if tot.Valid != tot.Attempts {
		t.Errorf("%d of %d outputs invalid", tot.Attempts-tot.Valid, tot.Attempts)
	}
	if acc := float64(tot.CorrectFields) / float64(tot.GoldFields); acc < minDemoFieldAccuracy {
		t.Errorf("field accuracy %d/%d = %.3f, want >= %.2f", tot.CorrectFields, tot.GoldFields, acc, minDemoFieldAccuracy)
	}
}

// minDemoFieldAccuracy is below the scaffolded field accuracy measured when
// the checkpoint landed (issue 17's retrain, threshold 0.9: 145/149 = 97.3%
// on these 24 texts, 1231/1256 = 98.0% on the whole held-out set, see
// MODEL_CARD.md), so a regression in the scaffold, the constraint, the
// in-context choice scoring or the decoder shows up here.
const minDemoFieldAccuracy = 0.9
