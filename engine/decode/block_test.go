package decode_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	_ "dlmstream/engine/model/qwen"
	"dlmstream/engine/tokenizer"
)

// loadTiny loads testdata/models/name on the exact kernels (the PyTorch
// goldens are fp32).
func loadTiny(t testing.TB, name string) (model.Model, decode.Arch) {
	t.Helper()
	return loadModel(t, name, model.LoadOptions{Exact: true})
}

func loadModel(t testing.TB, name string, opts model.LoadOptions) (model.Model, decode.Arch) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "models", name)
	m, err := model.Load(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	mask := int32(-1)
	if id, ok := tok.TokenID("|<MASK>|"); ok {
		mask = id
	}
	a, err := decode.ArchOf(m, mask, false)
	if err != nil {
		t.Fatal(err)
	}
	return m, a
}

func generate(t testing.TB, m model.Model, a decode.Arch, prompt []int32, p decode.Params) ([]int32, int) {
	t.Helper()
	s := decodeBlock(t, m, a, prompt, p)
	return s.Output(), s.Forwards()
}

// decodeBlock runs block decoding of prompt to the end.
func decodeBlock(t testing.TB, m model.Model, a decode.Arch, prompt []int32, p decode.Params) decode.Sequence {
	t.Helper()
	s, err := decode.NewBlock(a, prompt, p)
	if err != nil {
		t.Fatal(err)
	}
	cache := m.NewPool(0).NewSequence()
	defer cache.Free()
	if err := decode.Run(context.Background(), m, cache, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func prompt(n int, seed int32) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = (seed*7919 + int32(i)*104729) % 1500
	}
	return p
}

// The committed-block KV cache is exact: decoding with it and recomputing
// the whole sequence at every forward give token-identical outputs.
func TestCacheIsExact(t *testing.T) {
	policies := []decode.Policy{
		decode.StaticTopK{Steps: 8}, decode.StaticTopK{Steps: 2}, decode.Threshold{Tau: 0.5, Strict: true},
		decode.Dynamic{Tau: 0.3, Steps: 8}, decode.EntropyBounded{Gamma: 3}, decode.DefaultCredit(), decode.Oracle{K: 3},
	}
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm"} {
		m, a := loadTiny(t, name)
		for _, n := range []int{3, 8, 13} {
			for _, pol := range policies {
				t.Run(fmt.Sprintf("%s/prompt%d/%T%v", name, n, pol, pol), func(t *testing.T) {
					p := decode.Params{MaxNew: 20, Policy: pol, SubBlock: 4}
					cached, fc := generate(t, m, a, prompt(n, 1), p)
					p.NoCache = true
					full, _ := generate(t, m, a, prompt(n, 1), p)
					if !slices.Equal(cached, full) {
						t.Fatalf("cached %v\n  uncached %v", cached, full)
					}
					if len(cached) == 0 || len(cached) > 20 {
						t.Fatalf("output length %d", len(cached))
					}
					t.Logf("%d tokens in %d forwards", len(cached), fc)
				})
			}
		}
	}
}

// The AR baseline on the same weights: one new token per forward.
func TestAutoregressiveBaseline(t *testing.T) {
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm", "tiny-qwen3"} {
		t.Run(name, func(t *testing.T) {
			m, _ := loadTiny(t, name)
			mask := int32(1571)
			a, err := decode.ArchOf(m, mask, true)
			if err != nil {
				t.Fatal(err)
			}
			out, forwards := generate(t, m, a, prompt(10, 2), decode.Params{MaxNew: 12})
			if len(out) != 12 {
				t.Fatalf("%d tokens, want 12", len(out))
			}
			// Unshifted: the last block needs no commit; shifted: the prompt
			// forward yields the first token and each token one forward.
			want := 12
			if a.Shifted {
				want = 12
			}
			if forwards != want {
				t.Errorf("%d forwards for 12 tokens, want %d", forwards, want)
			}
			p := decode.Params{MaxNew: 12, NoCache: true}
			full, _ := generate(t, m, a, prompt(10, 2), p)
			if !slices.Equal(out, full) {
				t.Fatalf("AR with cache %v != without %v", out, full)
			}
		})
	}
}

func TestStreamingBlocks(t *testing.T) {
	m, a := loadTiny(t, "tiny-sdar")
	var got [][]int32
	out, _ := generate(t, m, a, prompt(6, 3), decode.Params{MaxNew: 13, OnBlock: func(b []int32) { got = append(got, b) }})
	if !slices.Equal(slices.Concat(got...), out) {
		t.Fatalf("streamed %v, output %v", got, out)
	}
	// prompt 6 with B=4: first block holds 2 prompt tokens, so 2 + 4 + 4 + 3 (truncated)
	if len(got) < 3 || len(got[0]) != 2 {
		t.Fatalf("block sizes %v", got)
	}
}
