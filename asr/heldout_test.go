package asr

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

var demoSpeech = filepath.Join("..", "testdata", "models", "demo-speech")

var (
	enginesMu sync.Mutex
	engines   = map[string]*engine.Engine{}
)

// demoEngine is the demo-speech checkpoint, loaded once for the package's tests.
func demoEngine(t testing.TB) *engine.Engine { return modelEngine(t, demoSpeech) }

// modelEngine loads a checkpoint once for the package's tests.
func modelEngine(t testing.TB, dir string) *engine.Engine {
	t.Helper()
	enginesMu.Lock()
	defer enginesMu.Unlock()
	if e := engines[dir]; e != nil {
		return e
	}
	e, err := engine.New(dir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	engines[dir] = e
	return e
}

type heldoutClip struct {
	Audio, Text string
	Voice       string `json:"voice"`
	InTrain     bool   `json:"voice_in_train"`
}

func heldoutManifest(t testing.TB) (dir string, clips []heldoutClip) {
	return heldoutSet(t, "speech")
}

// heldoutSet reads testdata/heldout/NAME/manifest.jsonl.
func heldoutSet(t testing.TB, name string) (dir string, clips []heldoutClip) {
	t.Helper()
	dir = filepath.Join("..", "testdata", "heldout", name)
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c heldoutClip
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		clips = append(clips, c)
	}
	return dir, clips
}

func loadClip(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Decode(b, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Samples
}

// The Go decoder equals the PyTorch reference decoder
// (tools/train/speech/eval.py --json, goldens testdata/golden/asr/*-heldout.json)
// mode for mode on the held-out sets of both demo speech checkpoints (210
// clips in training voices, 200 clips in unseen voices): the same
// transcript on >= 98% of clips, and corpus WER within 0.2 points.
func TestHeldoutMatchesPyTorch(t *testing.T) {
	for _, tt := range []struct{ model, set, golden string }{
		{"demo-speech", "speech", "demo-speech-heldout.json"},
		{"demo-speech-v2", "speech", "demo-speech-v2-heldout.json"},
		{"demo-speech-v2", "speech-voices", "demo-speech-v2-voices.json"},
	} {
		t.Run(tt.model+"/"+tt.set, func(t *testing.T) {
			heldoutMatchesPyTorch(t, filepath.Join("..", "testdata", "models", tt.model), tt.set, tt.golden)
		})
	}
}

func heldoutMatchesPyTorch(t *testing.T, model, set, golden string) {
	r, err := For(modelEngine(t, model))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "golden", "asr", golden))
	if err != nil {
		t.Fatal(err)
	}
	var gold struct {
		Items []map[string]string `json:"items"`
	}
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatal(err)
	}
	dir, clips := heldoutSet(t, set)
	if len(gold.Items) != len(clips) {
		t.Fatalf("golden has %d items, manifest %d", len(gold.Items), len(clips))
	}
	clips, gold.Items = sweepItems(clips), sweepItems(gold.Items)
	modes := []struct {
		name   string
		policy decode.Policy
	}{
		{"lm_t_none", decode.Threshold{Tau: 2}},
		{"lm_t0.9", decode.Threshold{Tau: 0.9}},
		{"lm_t0.7", decode.Threshold{Tau: 0.7}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var same int
			var goCorpus, refCorpus Corpus
			var wg sync.WaitGroup
			got := make([]string, len(clips))
			errs := make([]error, len(clips))
			sem := make(chan struct{}, 8)
			for i, c := range clips {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					tr, err := r.Transcribe(context.Background(), loadClip(t, filepath.Join(dir, c.Audio)), Options{Prior: NoPrior{}, Policy: m.policy, MaxNewTokens: 48, NoVAD: true})
					got[i], errs[i] = tr.Text, err
				}()
			}
			wg.Wait()
			for i, c := range clips {
				if errs[i] != nil {
					t.Fatalf("%s: %v", c.Audio, errs[i])
				}
				// Whitespace aside: Go joins words with single spaces, the
				// reference keeps the tokenizer's double space in one clip.
				want := strings.Join(strings.Fields(gold.Items[i][m.name]), " ")
				if got[i] == want {
					same++
				} else {
					t.Logf("%s: go %q, pytorch %q", c.Audio, got[i], want)
				}
				goCorpus.Add(c.Text, got[i])
				refCorpus.Add(c.Text, want)
			}
			frac := float64(same) / float64(len(clips))
			t.Logf("same transcript %d/%d (%.1f%%); WER go %.2f%%, pytorch %.2f%%", same, len(clips), 100*frac, 100*goCorpus.WER(), 100*refCorpus.WER())
			if frac < 0.98 {
				t.Errorf("same transcript on %.1f%% of clips, want >= 98%%", 100*frac)
			}
			if d := goCorpus.WER() - refCorpus.WER(); d > 0.002 || d < -0.002 {
				t.Errorf("WER differs by %.2f points, want <= 0.2", 100*d)
			}
		})
	}
}

// subsampleStep thins held-out sweeps under the race detector (the package
// must stay well inside go test's 10-minute timeout on a loaded 2-core machine).
const subsampleStep = 10

// sweepItems is every item, or every subsampleStep-th one under -race or -short.
func sweepItems[T any](items []T) []T {
	if !raceEnabled && !testing.Short() {
		return items
	}
	var out []T
	for i := 0; i < len(items); i += subsampleStep {
		out = append(out, items[i])
	}
	return out
}
