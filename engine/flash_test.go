package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/engine/model/qwen"
	"dlmstream/engine/tensor"
)

// FlashBlock requests decoded together give what each gives alone
// (decode.Run with Params.FlashBlock): every sequence keeps its own
// cached prefix attention inside a shared forward. On this random model
// FlashBlock's outputs differ from the exact path's, so a request that
// dropped the option would fail here. The KV cache is free at the end.
func TestFlashBlockRequestsMatchSingle(t *testing.T) {
	e := newTiny(t, Options{})
	policies := []decode.Policy{decode.Threshold{Tau: 0.9}, decode.StaticTopK{Steps: 4}, decode.DefaultCredit()}
	const n = 9
	var wg sync.WaitGroup
	got := make([]Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = e.Generate(context.Background(), Request{ID: fmt.Sprint(i), Tokens: ids(i, 5+2*i), MaxNewTokens: 16 + i,
				Policy: policies[i%len(policies)], FlashBlock: true})
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		p := decode.Params{MaxNew: 16 + i, Policy: policies[i%len(policies)], FlashBlock: true}
		if want := reference(t, e, ids(i, 5+2*i), p); !slices.Equal(got[i].TokenIDs, want) {
			t.Errorf("request %d: batched %v, alone %v", i, got[i].TokenIDs, want)
		}
	}
	if u := e.KVInUse(); u != 0 {
		t.Errorf("KV in use after all requests: %d bytes", u)
	}
}

// A FlashBlock request's attention cache counts against the KV budget
// with its pages: on a budget that holds the request's KV rows exactly it
// is refused, naming the charge, while the same request without
// FlashBlock runs; with room for the charge too it runs, and the charge is
// given back at the end.
func TestFlashBlockCharged(t *testing.T) {
	probe := newTiny(t, Options{})
	req := Request{Tokens: ids(2, 6), MaxNewTokens: 16, Policy: decode.Threshold{Tau: 0.9}}
	rows, charge := probe.KVBytes(6+16), probe.FlashBytes()
	if charge <= 0 || charge%probe.pool.PageBytes() != 0 || charge < probe.flashCache() {
		t.Fatalf("FlashBytes %d: want whole pages of %d bytes holding the cache's %d", charge, probe.pool.PageBytes(), probe.flashCache())
	}
	exact := newTiny(t, Options{KVBudget: rows})
	if _, err := exact.Generate(context.Background(), req); err != nil {
		t.Fatalf("without FlashBlock, on a budget of its rows: %v", err)
	}
	flash := req
	flash.FlashBlock = true
	if _, err := exact.Generate(context.Background(), flash); !errors.Is(err, kvcache.ErrBudget) || !strings.Contains(err.Error(), "beside them") {
		t.Fatalf("FlashBlock on a budget of its rows only: err = %v, want ErrBudget naming the charge", err)
	}
	room := newTiny(t, Options{KVBudget: rows + charge})
	if _, err := room.Generate(context.Background(), flash); err != nil {
		t.Fatalf("FlashBlock with room for its charge: %v", err)
	}
	if u := room.KVInUse(); u != 0 {
		t.Errorf("KV in use after the request: %d bytes", u)
	}
}

// noFlash hides the model's FlashBlocker (a backend without the path).
type noFlash struct{ model.Model }

// The engine refuses FlashBlock where it does not compose: a model
// without the path (the CUDA backend), full-canvas decoding (Dream), the
// autoregressive baseline.
func TestFlashBlockRefusedByEngine(t *testing.T) {
	tiny := newTiny(t, Options{})
	bare, err := NewWithModel(noFlash{tiny.Model}, tiny.Tok, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bare.Close() })
	mask := 99
	cfg := &model.Config{ModelType: "Dream", HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKVHeads: 2, HeadDim: 16,
		IntermediateSize: 128, VocabSize: 100, MaskTokenID: &mask}
	m, err := qwen.Random(cfg, 3, tensor.F32, true)
	if err != nil {
		t.Fatal(err)
	}
	dream, err := NewWithModel(m, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dream.Close() })
	for _, tc := range []struct {
		name string
		e    *Engine
		req  Request
		want string
	}{
		{"no FlashBlocker", bare, Request{Tokens: ids(1, 6), MaxNewTokens: 8, FlashBlock: true}, "CPU backend only"},
		{"full canvas", dream, Request{Tokens: []int32{1, 2, 3}, MaxNewTokens: 8, FlashBlock: true}, "full-canvas"},
		{"autoregressive", tiny, Request{Tokens: ids(1, 6), MaxNewTokens: 8, FlashBlock: true, Autoregressive: true}, "block size > 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.e.Generate(context.Background(), tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// FlashBlock composes with media rows and M-RoPE positions (they change
// the queries and keys before attention, not the split): on tiny-qwen25vl
// with an image prompt, FlashBlock refreshed every step equals the exact
// path, and FlashBlock itself decodes.
func TestFlashBlockMRoPE(t *testing.T) {
	e, err := New(tinyQwen25VL, Options{PrefixCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	H := e.Model.Config().HiddenSize
	rows := make([]float32, 8*H)
	for i := range rows {
		rows[i] = float32(i%17-8) * 0.05
	}
	toks, pos := imagePrompt(2, 4)
	embeds, err := e.placeMedia(toks, []Media{{Token: 4, Rows: rows}})
	if err != nil {
		t.Fatal(err)
	}
	rope, err := e.ropePositions(toks, pos)
	if err != nil {
		t.Fatal(err)
	}
	decodeWith := func(p decode.Params) []int32 {
		s, err := decode.NewBlock(e.arch, toks, p)
		if err != nil {
			t.Fatal(err)
		}
		cache := e.Model.NewPool(0).NewSequence()
		defer cache.Free()
		if err := decode.Run(context.Background(), e.Model, cache, decode.WithPositions(decode.WithEmbeds(s, embeds), rope)); err != nil {
			t.Fatal(err)
		}
		return s.Output()
	}
	for _, pol := range []decode.Policy{decode.StaticTopK{Steps: 4}, decode.Threshold{Tau: 0.9}} {
		t.Run(fmt.Sprintf("%T", pol), func(t *testing.T) {
			p := decode.Params{MaxNew: 16, Policy: pol}
			exact := decodeWith(p)
			p.FlashBlock, p.FlashRefresh = true, true
			if got := decodeWith(p); !slices.Equal(got, exact) {
				t.Fatalf("FlashBlock refreshed every step %v\n  exact %v", got, exact)
			}
			p.FlashRefresh = false
			if got := decodeWith(p); len(got) == 0 {
				t.Fatal("FlashBlock decoded nothing")
			}
		})
	}
}
