package schema

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// bruteScores scores each alternative without a prefix cache: for every
// block the slot touches (one pass for causal models), the whole sequence
// from position 0, the slot's positions in that block masked, earlier ones
// holding the alternative, nothing after the block.
func bruteScores(t *testing.T, m model.Model, prefix []int32, alts [][]int32, width int, tail []int32, pad, mask int32) []float64 {
	t.Helper()
	tr, cfg := m.Traits(), m.Config()
	B, shift := 1, 0
	if tr.Mask.Kind == cpu.BlockCausal {
		B = tr.Mask.Block
	}
	if tr.Shifted {
		shift = 1
	}
	p0 := len(prefix)
	var out []float64
	for _, alt := range alts {
		slot := make([]int32, width)
		for i := range slot {
			slot[i] = pad
			if i < len(alt) {
				slot[i] = alt[i]
			}
		}
		full := slices.Concat(prefix, slot, tail)
		var groups [][]int
		for p := p0; p < p0+width; p++ {
			if B == 1 {
				if len(groups) == 0 {
					groups = append(groups, nil)
				}
				groups[0] = append(groups[0], p)
				continue
			}
			if len(groups) == 0 || groups[len(groups)-1][0]/B != p/B {
				groups = append(groups, nil)
			}
			groups[len(groups)-1] = append(groups[len(groups)-1], p)
		}
		score := 0.0
		for _, g := range groups {
			end := p0 + width
			if B > 1 {
				end = min(len(full), (g[0]/B+1)*B)
			}
			seq := slices.Clone(full[:end])
			rows := make([]int, len(g))
			for i, p := range g {
				if B > 1 {
					seq[p] = mask
				}
				rows[i] = p - shift
			}
			cache := m.NewPool(0).NewSequence()
			if err := cache.Reserve(len(seq)); err != nil {
				t.Fatal(err)
			}
			logits := make([]float32, len(rows)*cfg.VocabSize)
			if err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: seq, Mask: tr.Mask, Cache: cache, LogitRows: rows, Logits: logits}}}); err != nil {
				t.Fatal(err)
			}
			cache.Free()
			for i, p := range g {
				row := logits[i*cfg.VocabSize : (i+1)*cfg.VocabSize]
				logSoftmax(row)
				score += float64(row[full[p]])
			}
		}
		out = append(out, score)
	}
	return out
}

// TestAltScores checks the prefix-cached, block-by-block choice scores
// against bruteScores on the three mask/shift families, for slots that
// start inside a block and span several, and that scores ignore the canvas
// past the slot's last block but not the prefix.
func TestAltScores(t *testing.T) {
	for _, dir := range []string{"tiny-sdar", "tiny-fastdllm", "tiny-qwen3"} {
		t.Run(dir, func(t *testing.T) {
			e, err := engine.New("../../testdata/models/"+dir, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			m := e.Model
			V := int32(m.Config().VocabSize)
			r := rand.New(rand.NewPCG(3, 4))
			toks := func(n int) []int32 {
				s := make([]int32, n)
				for i := range s {
					s[i] = 10 + r.Int32N(min(V, 500)-10)
				}
				return s
			}
			pad, mask := int32(1), e.Arch().MaskID
			for _, tc := range []struct{ prefix, width, tail int }{{13, 6, 5}, {16, 3, 0}, {9, 1, 7}, {30, 9, 2}} {
				prefix, tail := toks(tc.prefix), toks(tc.tail)
				alts := [][]int32{toks(tc.width), toks(max(1, tc.width-1)), nil}
				sl := &slot{choice: true, width: tc.width, alts: alts}
				got, fwd, err := altScores(context.Background(), e, prefix, sl, tail, pad, mask)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteScores(t, m, prefix, alts, tc.width, tail, pad, mask)
				for a := range want {
					if math.Abs(got[a]-want[a]) > 1e-3*max(1, math.Abs(want[a])) {
						t.Errorf("%+v alt %d: score %.5f, brute force %.5f", tc, a, got[a], want[a])
					}
				}
				// At most one forward per alternative and block the slot touches
				// (one per alternative for causal models), the prefix's prefill
				// fused into the first; the engine runs more than two side by
				// side (engine.Score spreads them over up to 8 sequences).
				B := 1
				if m.Traits().Mask.Kind == cpu.BlockCausal {
					B = m.Traits().Mask.Block
				}
				wantFwd := 1
				if B > 1 {
					wantFwd = (tc.prefix+tc.width-1)/B - tc.prefix/B + 1
				}
				wantFwd *= len(alts)
				if least := 1 + (wantFwd-1+7)/8; fwd > wantFwd || fwd < least {
					t.Errorf("%+v: %d forwards, want %d..%d", tc, fwd, least, wantFwd)
				}
				far := slices.Clone(tail)
				for i := range far {
					far[i] = 10 + (far[i]+7)%(min(V, 500)-10)
				}
				lastEnd := (tc.prefix+tc.width-1)/B*B + B
				vis := max(0, min(len(tail), lastEnd-tc.prefix-tc.width))
				copy(far, tail[:vis]) // what the slot's last block sees stays
				again, _, err := altScores(context.Background(), e, prefix, sl, far, pad, mask)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(again, got) {
					t.Errorf("%+v: scores changed with the canvas after the slot's last block: %v vs %v", tc, again, got)
				}
				other := slices.Clone(prefix)
				other[len(other)-1] = 10 + (other[len(other)-1]+1)%(min(V, 500)-10)
				moved, _, err := altScores(context.Background(), e, other, sl, tail, pad, mask)
				if err != nil {
					t.Fatal(err)
				}
				if slices.Equal(moved, got) {
					t.Errorf("%+v: scores ignore the prefix", tc)
				}
			}
		})
	}
}
