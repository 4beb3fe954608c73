package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

// FreeDave through the engine: requests decoded together, each with its
// candidate branches on forks of its cache, give token for token what one
// token per step gives alone, stream the same text, in fewer forwards,
// and leave no KV pages behind.
func TestFreeDaveEngine(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"rows for few branches", Options{MaxRows: 40}}, // the scheduler trims branches to fit
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { freeDaveEngine(t, tt.opts) })
	}
}

func freeDaveEngine(t *testing.T, opts Options) {
	e, err := New(filepath.Join("..", "testdata", "models", "demo-text"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	inputs := []string{
		"Reverse the list: copper, dragon, apple, mountain", "Sort in ascending order: 26, 0, 79, 87, 33",
		"Repeat exactly: apple breeze kettle cloud", "Add 21 and 52.", "Subtract 6 from 9.",
		"Sort in ascending order: 81, 60", "Repeat exactly: river stone", "Add 3 and 4.",
	}
	n := len(inputs)
	got, streamed := make([]Result, n), make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sb strings.Builder
			got[i], errs[i] = e.Generate(context.Background(), Request{ID: fmt.Sprint(i), MaxNewTokens: 48, Policy: decode.FreeDave{},
				Messages: []tokenizer.Message{{Role: "user", Content: in}}, Stream: func(s string) { sb.WriteString(s) }})
			streamed[i] = sb.String()
		}()
	}
	wg.Wait()
	fd, base := 0, 0
	for i, in := range inputs {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		want, err := e.Generate(context.Background(), Request{MaxNewTokens: 48, Policy: decode.StaticTopK{Steps: e.Arch().Block},
			Messages: []tokenizer.Message{{Role: "user", Content: in}}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[i].TokenIDs, want.TokenIDs) {
			t.Errorf("request %d: FreeDave batched %v, one per step %v", i, got[i].TokenIDs, want.TokenIDs)
		}
		if streamed[i] != got[i].Text {
			t.Errorf("request %d: streamed %q, result %q", i, streamed[i], got[i].Text)
		}
		if got[i].Forwards > want.Forwards {
			t.Errorf("request %d: %d forwards, one per step %d", i, got[i].Forwards, want.Forwards)
		}
		fd, base = fd+got[i].Forwards, base+want.Forwards
	}
	t.Logf("%d requests: %d forwards vs %d one per step (ratio %.3f)", n, fd, base, float64(fd)/float64(base))
	if u := e.KVInUse(); u != 0 {
		t.Errorf("KV in use after all requests: %d bytes", u)
	}
}
