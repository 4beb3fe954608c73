package decode_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/model/qwen"
	"dlmstream/engine/tensor"
)

func dreamModel(t testing.TB) (model.Model, decode.Arch) {
	mask := 99
	cfg := &model.Config{ModelType: "Dream", HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKVHeads: 2, HeadDim: 16,
		IntermediateSize: 128, VocabSize: 100, MaskTokenID: &mask}
	m, err := qwen.Random(cfg, 3, tensor.F32, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := decode.ArchOf(m, -1, false)
	if err != nil {
		t.Fatal(err)
	}
	return m, a
}

func runCanvas(t testing.TB, m model.Model, a decode.Arch, prompt []int32, p decode.CanvasParams) []int32 {
	s, err := decode.NewCanvas(a, prompt, p)
	if err != nil {
		t.Fatal(err)
	}
	cache := m.NewPool(0).NewSequence()
	if err := decode.Run(context.Background(), m, cache, s); err != nil {
		t.Fatal(err)
	}
	return s.Output()
}

// Prefix and dual caches are approximate by design; a refresh at every
// step makes them exact, and agreement with the no-cache run is measured.
func TestCanvasCaches(t *testing.T) {
	for _, shifted := range []bool{true, false} {
		m, a := dreamModel(t)
		a.Shifted = shifted // false: LLaDA-style unshifted full canvas on the same weights
		pr := []int32{5, 17, 42, 8, 23, 61, 2}
		base := decode.CanvasParams{Params: decode.Params{MaxNew: 24}, BlockLen: 8}
		want := runCanvas(t, m, a, pr, base)
		if len(want) != 24 {
			t.Fatalf("no-cache output %d tokens", len(want))
		}
		for _, kind := range []decode.CacheKind{decode.PrefixCache, decode.DualCache} {
			for _, refresh := range []int{1, 0, 4} {
				t.Run(fmt.Sprintf("shifted=%v/cache=%d/refresh=%d", shifted, kind, refresh), func(t *testing.T) {
					p := base
					p.Cache, p.RefreshEvery = kind, refresh
					got := runCanvas(t, m, a, pr, p)
					agree := 0
					for i := range want {
						if i < len(got) && got[i] == want[i] {
							agree++
						}
					}
					t.Logf("token agreement with no cache: %d/%d", agree, len(want))
					if refresh == 1 && !slices.Equal(got, want) {
						t.Fatalf("refresh every step must be exact:\n got %v\nwant %v", got, want)
					}
				})
			}
		}
	}
}

// Length-adaptive pruning cuts the canvas at the first predicted stop id
// after the first forward: with no stop ids nothing changes; with every
// token a stop id the first position ends it in one forward; with some
// stop ids the output ends in one and needs fewer forwards.
func TestCanvasPrune(t *testing.T) {
	m, a := dreamModel(t)
	pr := []int32{5, 17, 42, 8, 23, 61, 2}
	run := func(stop []int32, prune bool) ([]int32, int) {
		s, err := decode.NewCanvas(a, pr, decode.CanvasParams{Params: decode.Params{MaxNew: 24, Stop: stop}, BlockLen: 24, Prune: prune})
		if err != nil {
			t.Fatal(err)
		}
		if err := decode.Run(context.Background(), m, m.NewPool(0).NewSequence(), s); err != nil {
			t.Fatal(err)
		}
		return s.Output(), s.Forwards()
	}
	full, fullFwd := run(nil, false)
	if got, _ := run(nil, true); !slices.Equal(got, full) {
		t.Fatalf("no stop ids: pruned %v, full %v", got, full)
	}
	var every []int32
	for id := int32(0); id < 99; id++ {
		every = append(every, id)
	}
	if got, fwd := run(every, true); len(got) != 1 || fwd != 1 {
		t.Fatalf("every id a stop: %v in %d forwards, want one token in one", got, fwd)
	}
	cut := 0 // a stop id predicted mid-canvas cuts there
	for _, tok := range full {
		got, fwd := run([]int32{tok}, true)
		if got[len(got)-1] != tok && len(got) != len(full) || fwd > fullFwd {
			t.Fatalf("stop id %d: pruned %v in %d forwards; full %v in %d", tok, got, fwd, full, fullFwd)
		}
		if len(got) > 1 && len(got) < len(full) && fwd < fullFwd {
			cut++
			t.Logf("stop id %d: pruned to %d of %d tokens, %d of %d forwards", tok, len(got), len(full), fwd, fullFwd)
		}
	}
	if cut == 0 {
		t.Error("no stop id cut the canvas mid-way and saved forwards")
	}
	if _, err := decode.NewCanvas(a, pr, decode.CanvasParams{Params: decode.Params{MaxNew: 8}, Cache: decode.DualCache, Prune: true}); err == nil {
		t.Error("pruning with a dual cache: no error")
	}
}
