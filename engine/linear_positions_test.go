package engine

import (
	"context"
	"slices"
	"testing"
)

// A model with plain RoPE takes explicit positions with equal axes (a
// pruned prompt keeps its rows' original positions): ids 0..n-1 decode as
// no positions do, with and without the prefix cache, and a gap in the
// ids changes what is decoded.
func TestLinearPositionsOnPlainRoPE(t *testing.T) {
	for _, opts := range []Options{{PrefixCache: -1}, {}} {
		e := newTiny(t, opts)
		prompt := ids(3, 12)
		gen := func(pos [3][]int) []int32 {
			res, err := e.Generate(context.Background(), Request{Tokens: prompt, MaxNewTokens: 8, Positions: pos})
			if err != nil {
				t.Fatal(err)
			}
			return res.TokenIDs
		}
		want := gen([3][]int{})
		if got := gen(plainPositions(len(prompt))); !slices.Equal(got, want) {
			t.Errorf("prefix cache bytes %d: ids 0..n-1 decode %v, no positions %v", opts.PrefixCache, got, want)
		}
		gap := plainPositions(len(prompt))
		for a := range gap {
			for i := 4; i < len(prompt); i++ {
				gap[a][i] += 30
			}
		}
		if got := gen(gap); slices.Equal(got, want) {
			t.Errorf("prefix cache bytes %d: a gap of 30 positions decodes as no gap: %v", opts.PrefixCache, got)
		}
		e.Close()
	}
}
