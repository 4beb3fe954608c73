package decode_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
)

// forwardOnce runs w over cache and returns its logits [rows, V] (w's own
// bookkeeping applied, nothing delivered).
func forwardOnce(t *testing.T, m model.Model, cache *kvcache.Sequence, w decode.Work) []float32 {
	t.Helper()
	V := m.Config().VocabSize
	_, k := w.AllRows()
	logits := make([]float32, k*V)
	seqs, _, release := decode.ToModels(w, cache, logits, nil, V)
	err := m.Forward(&model.Batch{Seqs: seqs})
	release()
	if err != nil {
		t.Fatal(err)
	}
	decode.Done(w, cache)
	return logits
}

// relDiff is max |a-b| over max |b| (1 when b is all zeros).
func relDiff(a, b []float32) float64 {
	var d, s float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		s = math.Max(s, math.Abs(float64(b[i])))
	}
	return d / math.Max(s, 1)
}

// FlashBlock on real weights: every forward of a FlashBlock decode is
// also run on the exact path (the same work without Flash, over the same
// cache); a block's first step, which computes the prefix attention it
// caches, gives the exact logits to 1e-4 relative, and some later step
// differs (the cached prefix attention is reused, not recomputed). The
// cache is dropped at the end.
func TestFlashBlockFirstStepExact(t *testing.T) {
	for _, tc := range []struct {
		name       string
		blockCache bool
	}{{"tiny-sdar", false}, {"tiny-fastdllm", false}, {"tiny-fastdllm", true}} {
		m, a := loadTiny(t, tc.name)
		for _, n := range []int{3, 8, 13} {
			t.Run(fmt.Sprintf("%s/blockcache=%v/prompt%d", tc.name, tc.blockCache, n), func(t *testing.T) {
				p := decode.Params{MaxNew: 24, Policy: decode.Threshold{Tau: 0.9}, SubBlock: 4, BlockCache: tc.blockCache, FlashBlock: true}
				s, err := decode.NewBlock(a, prompt(n, 1), p)
				if err != nil {
					t.Fatal(err)
				}
				cache := m.NewPool(0).NewSequence()
				defer cache.Free()
				var flash *model.FlashState
				firsts, later, differ := 0, 0, 0
				for {
					w, ok := s.Next()
					if !ok {
						break
					}
					w.Summary = false // logits for both paths
					if w.Flash == nil {
						decode.Deliver(s, w, forwardOnce(t, m, cache, w), nil)
						continue
					}
					flash = w.Flash
					first := w.Flash.Bytes() == 0 // dropped at the block's start
					exact := w
					exact.Flash = nil
					want := forwardOnce(t, m, cache, exact)
					got := forwardOnce(t, m, cache, w)
					d := relDiff(got, want)
					switch {
					case w.Flash.Start == 0: // no prefix: exact
						if d != 0 {
							t.Fatalf("block at 0: FlashBlock logits differ from the exact ones by %g", d)
						}
					case first:
						firsts++
						if d > 1e-4 {
							t.Fatalf("first step of the block at %d: FlashBlock logits differ from the exact ones by %g relative", w.Flash.Start, d)
						}
					default:
						later++
						if d > 1e-6 {
							differ++
						}
					}
					decode.Deliver(s, w, got, nil)
				}
				if firsts == 0 || later == 0 || differ == 0 {
					t.Fatalf("%d first steps, %d later steps (%d differing from the exact path): FlashBlock was not exercised", firsts, later, differ)
				}
				if flash.Bytes() != 0 {
					t.Fatalf("%d bytes of FlashBlock cache left after the sequence ended", flash.Bytes())
				}
			})
		}
	}
}

// With the prefix attention recomputed at every step (FlashRefresh) every
// attention is the exact split-and-merge: outputs and forwards equal the
// exact path's, for every policy, Fast-dLLM v2's sub-block cache and
// IterSmooth's soft inputs.
func TestFlashRefreshIsExact(t *testing.T) {
	policies := []decode.Policy{
		decode.StaticTopK{Steps: 4}, decode.Threshold{Tau: 0.9}, decode.Threshold{Tau: 0.5, Strict: true},
		decode.EntropyBounded{Gamma: 3}, decode.DefaultCredit(), decode.DefaultIterSmooth(0.1),
	}
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm"} {
		m, a := loadTiny(t, name)
		emb := m.(model.TokenEmbedder)
		for _, n := range []int{3, 13} {
			for _, pol := range policies {
				for _, bc := range []bool{false, true} {
					if bc && !a.Shifted {
						continue
					}
					t.Run(fmt.Sprintf("%s/prompt%d/%T/blockcache=%v", name, n, pol, bc), func(t *testing.T) {
						p := decode.Params{MaxNew: 24, Policy: pol, SubBlock: 4, BlockCache: bc, Embedder: emb}
						exact, fe := generate(t, m, a, prompt(n, 1), p)
						p.FlashBlock, p.FlashRefresh = true, true
						flash, ff := generate(t, m, a, prompt(n, 1), p)
						if !slices.Equal(flash, exact) || ff != fe {
							t.Fatalf("FlashBlock, refreshed every step: %v (%d forwards)\n  exact: %v (%d forwards)", flash, ff, exact, fe)
						}
					})
				}
			}
		}
	}
}

// FlashBlock is refused where it does not compose.
func TestFlashBlockRefusals(t *testing.T) {
	m, a := loadTiny(t, "tiny-sdar")
	ar, err := decode.ArchOf(m, a.MaskID, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		arch   decode.Arch
		p      decode.Params
		canvas bool
		want   string
	}{
		{"nocache", a, decode.Params{MaxNew: 8, FlashBlock: true, NoCache: true}, false, "NoCache"},
		{"autoregressive", ar, decode.Params{MaxNew: 8, FlashBlock: true}, false, "block size > 1"},
		{"freedave", a, decode.Params{MaxNew: 8, FlashBlock: true, Policy: decode.FreeDave{K: 2}}, false, "FreeDave"},
		{"refresh alone", a, decode.Params{MaxNew: 8, FlashRefresh: true}, false, "without FlashBlock"},
		{"full canvas", a, decode.Params{MaxNew: 8, FlashBlock: true}, true, "full-canvas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.canvas {
				_, err = decode.NewCanvas(tc.arch, prompt(5, 1), decode.CanvasParams{Params: tc.p})
			} else {
				_, err = decode.NewBlock(tc.arch, prompt(5, 1), tc.p)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// A model forward refuses a FlashBlock start that is not a block boundary
// or lies past the sequence's rows, and a refused batch leaves every
// sequence's state untouched.
func TestFlashBlockForwardRefusals(t *testing.T) {
	m, a := loadTiny(t, "tiny-sdar")
	B := a.Block
	for _, tc := range []struct {
		name  string
		start int
		want  string
	}{
		{"inside a block", 1, "block boundary"},
		{"past the rows", 4 * B, "outside the rows"},
		{"negative", -B, "outside the rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := m.NewPool(0)
			good, bad := pool.NewSequence(), pool.NewSequence()
			defer good.Free()
			defer bad.Free()
			ok := &model.FlashState{Start: B}
			seqs := []model.Seq{
				{Tokens: prompt(2*B, 1), Mask: m.Traits().Mask, Cache: good, Flash: ok},
				{Tokens: prompt(2*B, 2), Mask: m.Traits().Mask, Cache: bad, Flash: &model.FlashState{Start: tc.start}},
			}
			err := m.Forward(&model.Batch{Seqs: seqs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one mentioning %q", err, tc.want)
			}
			if ok.Bytes() != 0 {
				t.Fatalf("the valid sequence's state holds %d bytes after a refused forward", ok.Bytes())
			}
		})
	}
}
