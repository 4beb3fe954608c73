package engine

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/model/qwen"
	"dlmstream/engine/tensor"
)

// bruteScore runs prompt ++ pass.Tokens from position 0 on a fresh cache
// and sums the targets' fp32 log-softmax values.
func bruteScore(t *testing.T, m model.Model, prompt []int32, p ScorePass) float64 {
	t.Helper()
	cfg := m.Config()
	seq := slices.Concat(prompt, p.Tokens)
	cache := m.NewPool(0).NewSequence()
	defer cache.Free()
	if err := cache.Reserve(len(seq)); err != nil {
		t.Fatal(err)
	}
	rows := make([]int, len(p.Rows))
	for i, r := range p.Rows {
		rows[i] = len(prompt) + r
	}
	V := cfg.VocabSize
	logits := make([]float32, len(rows)*V)
	if err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: seq, Mask: m.Traits().Mask, Cache: cache, LogitRows: rows, Logits: logits}}}); err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for i, tgt := range p.Targets {
		row := logits[i*V : (i+1)*V]
		mx := float32(math.Inf(-1))
		for _, v := range row {
			mx = max(mx, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
		}
		s += float64(row[tgt] - (float32(math.Log(sum)) + mx))
	}
	return s
}

// TestScore checks Score against one brute-force forward per pass on
// block-causal (tiny-sdar), shifted (tiny-fastdllm), causal (tiny-qwen3)
// and bidirectional (Dream, random) models: prompts of whole and partial
// blocks, passes of different lengths, a second request on the same prompt
// taking it from the prefix cache with the same scores, and concurrent
// requests batched together giving what each gives alone.
func TestScore(t *testing.T) {
	dream := func(t *testing.T) *Engine {
		mask := 99
		cfg := &model.Config{ModelType: "Dream", HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKVHeads: 2, HeadDim: 16,
			IntermediateSize: 128, VocabSize: 100, MaskTokenID: &mask}
		m, err := qwen.Random(cfg, 3, tensor.F32, true)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewWithModel(m, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	dir := func(name string) func(t *testing.T) *Engine {
		return func(t *testing.T) *Engine {
			e, err := New(filepath.Join("..", "testdata", "models", name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { e.Close() })
			return e
		}
	}
	for _, tc := range []struct {
		name   string
		engine func(t *testing.T) *Engine
		cached bool // prefix cache on
	}{
		{"tiny-sdar", dir("tiny-sdar"), true},
		{"tiny-fastdllm", dir("tiny-fastdllm"), true},
		{"tiny-qwen3", dir("tiny-qwen3"), true},
		{"dream", dream, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.engine(t)
			V := int32(e.arch.Vocab)
			tok := func(seed, n int) []int32 {
				s := ids(seed, n)
				for i := range s {
					s[i] %= V
				}
				return s
			}
			for _, plen := range []int{0, 3, 16, 21} {
				prompt := tok(plen+1, plen)
				var req ScoreRequest
				req.Prompt = prompt
				for k, n := range []int{1, 4, 7} {
					p := ScorePass{Tokens: tok(100+k, n)}
					for r := range n {
						p.Rows = append(p.Rows, r)
						p.Targets = append(p.Targets, tok(200+k, n)[r])
					}
					req.Passes = append(req.Passes, p)
				}
				for round := range 2 {
					res, err := e.Score(context.Background(), req)
					if err != nil {
						t.Fatal(err)
					}
					if res.Forwards != len(req.Passes) {
						t.Errorf("prompt %d: %d forwards for %d passes", plen, res.Forwards, len(req.Passes))
					}
					for i, p := range req.Passes {
						want := bruteScore(t, e.Model, prompt, p)
						if math.Abs(res.Scores[i]-want) > 1e-4*max(1, math.Abs(want)) {
							t.Errorf("prompt %d round %d pass %d: score %.6f, brute force %.6f", plen, round, i, res.Scores[i], want)
						}
					}
					B := max(e.arch.Block, 1)
					if wantCached := plen / B * B; round == 1 && tc.cached && wantCached > 0 && res.CachedRows != wantCached {
						t.Errorf("prompt %d: second request took %d rows from the prefix cache, want %d", plen, res.CachedRows, wantCached)
					}
				}
			}
			// Many passes (an enum's values) are spread over sequences that
			// share the prompt's prefill: fewer forwards, the same scores.
			prompt := tok(7, 13)
			var many ScoreRequest
			many.Prompt = prompt
			for k := range 40 {
				n := 1 + k%5
				p := ScorePass{Tokens: tok(300+k, n)}
				for r := range n {
					p.Rows = append(p.Rows, r)
					p.Targets = append(p.Targets, tok(400+k, n)[r])
				}
				many.Passes = append(many.Passes, p)
			}
			res, err := e.Score(context.Background(), many)
			if err != nil {
				t.Fatal(err)
			}
			if res.Forwards >= len(many.Passes)/4 {
				t.Errorf("%d forwards for %d passes: not spread", res.Forwards, len(many.Passes))
			}
			for i, p := range many.Passes {
				if want := bruteScore(t, e.Model, prompt, p); math.Abs(res.Scores[i]-want) > 1e-4*max(1, math.Abs(want)) {
					t.Errorf("spread pass %d: score %.6f, brute force %.6f", i, res.Scores[i], want)
				}
			}
			// Concurrent requests (batched forwards) give what each gives alone.
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					prompt := tok(500+g, 9+g)
					p := ScorePass{Tokens: tok(600+g, 5), Rows: []int{1, 4}, Targets: []int32{3 % V, 7 % V}}
					res, err := e.Score(context.Background(), ScoreRequest{Prompt: prompt, Passes: []ScorePass{p}})
					if err != nil {
						t.Error(err)
						return
					}
					if want := bruteScore(t, e.Model, prompt, p); math.Abs(res.Scores[0]-want) > 1e-4*max(1, math.Abs(want)) {
						t.Errorf("concurrent %d: score %.6f, brute force %.6f", g, res.Scores[0], want)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestScoreRejects names what is wrong with a malformed request.
func TestScoreRejects(t *testing.T) {
	e := newTiny(t, Options{})
	for _, tc := range []struct {
		req  ScoreRequest
		want string
	}{
		{ScoreRequest{Prompt: []int32{1, 2}}, "without passes"},
		{ScoreRequest{Passes: []ScorePass{{}}}, "pass 0 has no tokens"},
		{ScoreRequest{Passes: []ScorePass{{Tokens: []int32{5}, Rows: []int{0}}}}, "1 rows but 0 targets"},
		{ScoreRequest{Passes: []ScorePass{{Tokens: []int32{5}, Rows: []int{1}, Targets: []int32{3}}}}, "row 1 outside [0, 1)"},
		{ScoreRequest{Passes: []ScorePass{{Tokens: []int32{5}, Rows: []int{0}, Targets: []int32{1 << 20}}}}, "target 1048576 outside the vocabulary"},
		{ScoreRequest{Passes: []ScorePass{{Tokens: []int32{1 << 20}, Rows: []int{0}, Targets: []int32{3}}}}, "outside vocabulary"},
	} {
		_, err := e.Score(context.Background(), tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.req, err, tc.want)
		}
	}
}
