package vision

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

var demoVision = filepath.Join("..", "testdata", "models", "demo-vision")

var (
	visionOnce sync.Once
	visionEng  *engine.Engine
	visionErr  error
)

func demoVisionEngine(t testing.TB) *engine.Engine {
	t.Helper()
	visionOnce.Do(func() { visionEng, visionErr = engine.New(demoVision, engine.Options{}) })
	if visionErr != nil {
		t.Fatal(visionErr)
	}
	return visionEng
}

type heldoutImage struct {
	Image   string `json:"image"`
	Caption string `json:"caption"`
}

func heldoutImages(t testing.TB) (string, []heldoutImage) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "heldout", "vision")
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []heldoutImage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var it heldoutImage
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatal(err)
		}
		out = append(out, it)
	}
	return dir, out
}

func loadImage(t testing.TB, path string) *RGB {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := Decode(b, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The Go captioner equals the PyTorch reference decoder
// (tools/train/vision/eval.py; golden testdata/golden/vision/demo-vision-heldout.json)
// mode for mode on the 240 held-out scenes: the same caption on >= 98%.
func TestCaptionsMatchPyTorch(t *testing.T) {
	eng := demoVisionEngine(t)
	c, err := For(eng)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "golden", "vision", "demo-vision-heldout.json"))
	if err != nil {
		t.Fatal(err)
	}
	var gold map[string]struct {
		Items []struct{ Image, Caption string }
	}
	if err := json.Unmarshal(b, &gold); err != nil {
		t.Fatal(err)
	}
	dir, items := heldoutImages(t)
	all := len(items)
	items = sweepItems(items)
	modes := []struct {
		name   string
		policy decode.Policy
		ar     bool
	}{
		{"block-1", decode.Threshold{Tau: 2}, false},
		{"t=0.9", decode.Threshold{Tau: 0.9}, false},
		{"t=0.7", decode.Threshold{Tau: 0.7}, false},
		{"ar", decode.Threshold{Tau: 2}, true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ref := gold[m.name].Items
			if len(ref) != all {
				t.Fatalf("golden has %d items, manifest %d", len(ref), all)
			}
			ref = sweepItems(ref)
			got := make([]string, len(items))
			errs := make([]error, len(items))
			var wg sync.WaitGroup
			sem := make(chan struct{}, 8)
			for i, it := range items {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					cp, err := c.Caption(context.Background(), loadImage(t, filepath.Join(dir, it.Image)), CaptionOptions{Policy: m.policy, Autoregressive: m.ar})
					got[i], errs[i] = cp.Text, err
				}()
			}
			wg.Wait()
			same, exact := 0, 0
			for i, it := range items {
				if errs[i] != nil {
					t.Fatalf("%s: %v", it.Image, errs[i])
				}
				if ref[i].Image != it.Image {
					t.Fatalf("golden item %d is %s, want %s", i, ref[i].Image, it.Image)
				}
				if got[i] == ref[i].Caption {
					same++
				} else {
					t.Logf("%s: go %q, pytorch %q", it.Image, got[i], ref[i].Caption)
				}
				if got[i] == it.Caption {
					exact++
				}
			}
			frac := float64(same) / float64(len(items))
			t.Logf("same caption %d/%d (%.1f%%); exact match %d/%d (%.1f%%)", same, len(items), 100*frac, exact, len(items), 100*float64(exact)/float64(len(items)))
			if frac < 0.98 {
				t.Errorf("same caption on %.1f%% of images, want >= 98%%", 100*frac)
			}
		})
	}
}

// subsampleStep thins held-out sweeps under the race detector or -short.
const subsampleStep = 6

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
