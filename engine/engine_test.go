package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/tokenizer"
)

var tinySDAR = filepath.Join("..", "testdata", "models", "tiny-sdar")

func newTiny(t *testing.T, opts Options) *Engine {
	t.Helper()
	e, err := New(tinySDAR, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func ids(seed, n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32((seed*7919 + i*104729) % 1500)
	}
	return p
}

// reference decodes one request alone with decode.Run.
func reference(t *testing.T, e *Engine, prompt []int32, p decode.Params) []int32 {
	t.Helper()
	p.Stop = e.stop
	s, err := decode.NewBlock(e.arch, prompt, p)
	if err != nil {
		t.Fatal(err)
	}
	cache := e.Model.NewPool(0).NewSequence()
	if err := decode.Run(context.Background(), e.Model, cache, s); err != nil {
		t.Fatal(err)
	}
	return s.Output()
}

// Requests decoded together in one batch give exactly what each gives alone.
func TestConcurrentRequestsMatchSingle(t *testing.T) {
	e := newTiny(t, Options{})
	policies := []decode.Policy{decode.StaticTopK{Steps: 4}, decode.Threshold{Tau: 0.3}, decode.Oracle{K: 2}, decode.DefaultCredit()}
	const n = 12
	var wg sync.WaitGroup
	got := make([]Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = e.Generate(context.Background(), Request{ID: fmt.Sprint(i), Tokens: ids(i, 3+i), MaxNewTokens: 10 + i, Policy: policies[i%len(policies)]})
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		want := reference(t, e, ids(i, 3+i), decode.Params{MaxNew: 10 + i, Policy: policies[i%len(policies)]})
		if !slices.Equal(got[i].TokenIDs, want) {
			t.Errorf("request %d: batched %v, alone %v", i, got[i].TokenIDs, want)
		}
	}
	if u := e.KVInUse(); u != 0 {
		t.Errorf("KV in use after all requests: %d bytes", u)
	}
}

func TestStreamingMatchesResult(t *testing.T) {
	e := newTiny(t, Options{})
	var parts []string
	res, err := e.Generate(context.Background(), Request{
		Messages:     []tokenizer.Message{{Role: "user", Content: "List three colors."}},
		MaxNewTokens: 23, Stream: func(s string) { parts = append(parts, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(parts, "") != res.Text {
		t.Fatalf("streamed %q, result %q", strings.Join(parts, ""), res.Text)
	}
	if len(parts) < 2 {
		t.Errorf("expected several streamed blocks, got %d", len(parts))
	}
	if res.Tokens == 0 || res.Forwards == 0 {
		t.Errorf("result %+v", res)
	}
}

func TestBusyWhenQueueFull(t *testing.T) {
	e := newTiny(t, Options{MaxQueue: 1, MaxRunning: 1})
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy, ok := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Generate(context.Background(), Request{Tokens: ids(i, 5), MaxNewTokens: 400})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrBusy):
				busy++
			case err == nil:
				ok++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if busy == 0 || ok == 0 {
		t.Fatalf("%d busy, %d served; want both > 0 with one running and one queued slot", busy, ok)
	}
	t.Logf("%d served, %d refused busy", ok, busy)
}

func TestCancelFreesMemory(t *testing.T) {
	e := newTiny(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan struct{})
	var once sync.Once
	done := make(chan error)
	go func() {
		_, err := e.Generate(ctx, Request{Tokens: ids(1, 9), MaxNewTokens: 1500, Stream: func(string) { once.Do(func() { close(first) }) }})
		done <- err
	}()
	<-first
	if e.KVInUse() == 0 {
		t.Fatal("no KV reserved while running")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The loop frees the cache at its next step; poll without a timing assertion.
	for e.KVInUse() != 0 {
		time.Sleep(time.Millisecond)
	}
}

func TestRequestErrors(t *testing.T) {
	e := newTiny(t, Options{KVBudget: 64 << 10})
	tests := []struct {
		req  Request
		want string
	}{
		{Request{}, "empty request"},
		{Request{Tokens: []int32{1, 99999}}, "outside the vocabulary"},
		{Request{Tokens: ids(1, 4), MaxNewTokens: 1000}, "budget"},
	}
	for _, tt := range tests {
		_, err := e.Generate(context.Background(), tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Generate(%+v) = %v, want %q", tt.req, err, tt.want)
		}
	}
}

func TestSharedIsOnePerDir(t *testing.T) {
	a, err := Shared(tinySDAR, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Shared(filepath.Join("..", "testdata", "..", "testdata", "models", "tiny-sdar"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("Shared returned two engines for one directory")
	}
	if _, err := Shared(filepath.Join("..", "testdata", "models", "nope"), Options{}); err == nil {
		t.Fatal("Shared on a missing directory succeeded")
	}
}

func TestAutoregressiveRequest(t *testing.T) {
	e := newTiny(t, Options{})
	r, err := e.Generate(context.Background(), Request{Tokens: ids(3, 7), MaxNewTokens: 9, Autoregressive: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens != 9 || r.Forwards != 9 {
		t.Fatalf("AR: %d tokens in %d forwards, want 9 in 9", r.Tokens, r.Forwards)
	}
}

// Media rows equal to the embeddings of the tokens they replace decode
// exactly like the plain prompt; other rows change the output; a count
// mismatch is an error naming it.
func TestMediaRows(t *testing.T) {
	e := newTiny(t, Options{})
	H := e.Model.Config().HiddenSize
	prompt := ids(3, 21)
	const placeholder = 7
	want, err := e.Generate(context.Background(), Request{Tokens: prompt, MaxNewTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	embed := func(p []int32) []float32 {
		rows := make([]float32, len(p)*H)
		m := e.Model.(interface{ Weights() *model.Weights })
		w, err := m.Weights().Matrix("model.embed_tokens.weight", e.Model.Config().VocabSize, H)
		if err != nil {
			t.Fatal(err)
		}
		for i, tok := range p {
			w.Row(int(tok), rows[i*H:(i+1)*H])
		}
		return rows
	}
	// Two runs of placeholders, one media item spread over both.
	masked := slices.Clone(prompt)
	var orig []int32
	for _, p := range []int{2, 3, 4, 5, 11, 12, 18} {
		orig = append(orig, masked[p])
		masked[p] = placeholder
	}
	tests := []struct {
		name    string
		media   []Media
		same    bool
		wantErr string
	}{
		{"same embeddings", []Media{{Token: placeholder, Rows: embed(orig)}}, true, ""},
		{"split in two items", []Media{{Token: placeholder, Rows: embed(orig[:3])}, {Token: placeholder, Rows: embed(orig[3:])}}, true, ""},
		{"other embeddings", []Media{{Token: placeholder, Rows: embed(ids(9, len(orig)))}}, false, ""},
		{"too few rows", []Media{{Token: placeholder, Rows: embed(orig[:5])}}, false, "has no media rows"},
		{"too many rows", []Media{{Token: placeholder, Rows: embed(append(slices.Clone(orig), 1))}}, false, "only 7 more placeholder"},
		{"ragged rows", []Media{{Token: placeholder, Rows: make([]float32, H+1)}}, false, "not a whole number of rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Generate(context.Background(), Request{Tokens: masked, MaxNewTokens: 12, Media: tt.media})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if same := slices.Equal(got.TokenIDs, want.TokenIDs); same != tt.same {
				t.Errorf("output %v vs plain prompt %v: same = %v, want %v", got.TokenIDs, want.TokenIDs, same, tt.same)
			}
		})
	}
}

// Prompts sharing whole blocks (here: media rows and a system part) reuse
// their K/V from the prefix cache with outputs identical to an engine
// without it; autoregressive and block decoding never share entries.
func TestPrefixCache(t *testing.T) {
	cached := newTiny(t, Options{})
	plain := newTiny(t, Options{PrefixCache: -1})
	H := cached.Model.Config().HiddenSize
	const ph = 7
	media := []Media{{Token: ph, Rows: func() []float32 {
		r := make([]float32, 8*H)
		for i := range r {
			r[i] = float32(i%13) * 0.01
		}
		return r
	}()}}
	shared := slices.Concat(ids(5, 3), []int32{ph, ph, ph, ph, ph, ph, ph, ph}, ids(6, 2)) // 13 tokens, media at [3, 11)
	a := slices.Concat(shared, ids(7, 9))
	b := slices.Concat(shared, ids(8, 6))
	run := func(e *Engine, toks []int32, ar bool) Result {
		t.Helper()
		r, err := e.Generate(context.Background(), Request{Tokens: toks, Media: media, MaxNewTokens: 10, Autoregressive: ar})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name   string
		toks   []int32
		ar     bool
		cached int
	}{
		{"first prompt: miss", a, false, 0},
		{"second prompt on the same media: media-boundary prefix", b, false, 8},
		{"first prompt again: whole prompt", a, false, 20},
		{"autoregressive: its own entries", a, true, 0},
		{"autoregressive again", a, true, 22},
	}
	for _, st := range steps {
		got, want := run(cached, st.toks, st.ar), run(plain, st.toks, st.ar)
		if !slices.Equal(got.TokenIDs, want.TokenIDs) {
			t.Errorf("%s: %v with the prefix cache, %v without", st.name, got.TokenIDs, want.TokenIDs)
		}
		if got.CachedRows != st.cached {
			t.Errorf("%s: %d cached rows, want %d", st.name, got.CachedRows, st.cached)
		}
	}
	s := cached.PrefixStats()
	if s.Hits != 3 || s.RowsReused != 8+20+22 || s.Bytes == 0 {
		t.Errorf("stats %+v", s)
	}
	if cached.KVInUse() != 0 {
		t.Errorf("%d bytes in use after all requests", cached.KVInUse())
	}
}
