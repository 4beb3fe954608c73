package model

import (
	"path/filepath"
	"sync"
	"testing"
)

// Checkpoints load concurrently (one engine per pipeline in one process):
// the race detector checks that loading shares no unguarded state.
func TestConcurrentOpen(t *testing.T) {
	var wg sync.WaitGroup
	for _, name := range []string{"tiny-sdar", "tiny-qwen2", "tiny-qwen3", "tiny-sdar"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := OpenWeights(filepath.Join("..", "..", "testdata", "models", name))
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Close()
			if _, err := w.Matrix("model.embed_tokens.weight", 1600, func() int {
				s, _ := w.Shape("model.embed_tokens.weight")
				return s[1]
			}()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
