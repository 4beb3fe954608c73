package engine

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestHistogramBuckets(t *testing.T) {
	tests := []struct {
		name string
		v    float64
		want int // bucket index
	}{
		{"below the first bound", 0.1, 0},
		{"on a bound (inclusive)", 1, 0},
		{"between bounds", 1.5, 1},
		{"on the last bound", 4, 2},
		{"past the last bound", 5, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistogram([]float64{1, 2, 4})
			h.observe(tt.v)
			want := make([]uint64, 4)
			want[tt.want] = 1
			if !slices.Equal(h.Counts, want) || h.Count != 1 || h.Sum != tt.v {
				t.Errorf("observe(%v): counts %v count %d sum %v, want counts %v count 1 sum %v", tt.v, h.Counts, h.Count, h.Sum, want, tt.v)
			}
		})
	}
}

// A snapshot after some requests counts exactly what they did.
func TestSnapshot(t *testing.T) {
	e := newTiny(t, Options{MaxQueue: 1, MaxRunning: 1})
	const n = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, busy, tokens int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Generate(context.Background(), Request{Tokens: ids(i, 5), MaxNewTokens: 24})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBusy):
				busy++
			case err == nil:
				ok++
				tokens += int64(res.Tokens)
			default:
				t.Errorf("request %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	s := e.Snapshot()
	if s.OK != ok || s.Busy != busy || s.Failed != 0 || s.Tokens != tokens || tokens == 0 {
		t.Errorf("snapshot ok %d busy %d failed %d tokens %d; want %d, %d, 0, %d (> 0)", s.OK, s.Busy, s.Failed, s.Tokens, ok, busy, tokens)
	}
	if s.Waiting != 0 || s.Running != 0 || s.KVInUse != 0 || s.KVBudget != 1<<30 {
		t.Errorf("idle engine: waiting %d running %d KV %d of %d", s.Waiting, s.Running, s.KVInUse, s.KVBudget)
	}
	if s.Stats.Forwards == 0 || uint64(s.Stats.Forwards) != s.Forward.Count {
		t.Errorf("%d forwards, %d forward latencies", s.Stats.Forwards, s.Forward.Count)
	}
	for name, h := range map[string]Histogram{"queue wait": s.QueueWait, "request": s.Request, "tokens per forward": s.TokensPerForward} {
		if h.Count != uint64(ok) {
			t.Errorf("%s: %d observations, want %d", name, h.Count, ok)
		}
	}
	for name, h := range map[string]Histogram{"queue wait": s.QueueWait, "request": s.Request, "forward": s.Forward, "tokens per forward": s.TokensPerForward} {
		var sum uint64
		for _, c := range h.Counts {
			sum += c
		}
		if sum != h.Count || len(h.Counts) != len(h.Bounds)+1 {
			t.Errorf("%s: buckets %v hold %d, count %d", name, h.Counts, sum, h.Count)
		}
	}
	// A snapshot is a copy: later requests do not change it.
	before := slices.Clone(s.Forward.Counts)
	if _, err := e.Generate(context.Background(), Request{Tokens: ids(9, 5), MaxNewTokens: 8}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, s.Forward.Counts) {
		t.Error("a later forward changed an earlier snapshot")
	}
}

func TestSharedEngines(t *testing.T) {
	e, err := Shared(tinySDAR, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(SharedEngines(), e) {
		t.Fatal("SharedEngines lacks the engine Shared loaded")
	}
	if got := filepath.Base(e.Snapshot().Dir); got != "tiny-sdar" {
		t.Errorf("snapshot dir %q, want .../tiny-sdar", got)
	}
	own := newTiny(t, Options{}) // New, not Shared: not listed
	if slices.Contains(SharedEngines(), own) {
		t.Error("SharedEngines lists an engine Shared did not load")
	}
}
