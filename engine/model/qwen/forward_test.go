package qwen

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

func tinyConfig(modelType string) *model.Config {
	return &model.Config{ModelType: modelType, HiddenSize: 64, NumLayers: 2, NumHeads: 4, NumKVHeads: 2, HeadDim: 16,
		IntermediateSize: 96, VocabSize: 101, BlockSize: 4}
}

func randTokens(seed uint64, n, vocab int) []int32 {
	r := rand.New(rand.NewPCG(seed, 1))
	t := make([]int32, n)
	for i := range t {
		t[i] = int32(r.IntN(vocab))
	}
	return t
}

func allRows(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

// full runs the whole sequence in one forward without a cache.
func full(t *testing.T, m *Model, toks []int32, mask cpu.Mask) []float32 {
	t.Helper()
	V := m.cfg.VocabSize
	s := model.Seq{Tokens: toks, Mask: mask, LogitRows: allRows(len(toks)), Logits: make([]float32, len(toks)*V)}
	if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
		t.Fatal(err)
	}
	return s.Logits
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// The committed-block cache is exact for block-causal and causal masks:
// prefilling whole blocks, then running the tail against the cache, gives the
// logits of one full-sequence forward.
func TestCacheMatchesFullForward(t *testing.T) {
	for _, mt := range []string{"qwen2", "qwen3", "sdar", "Fast_dLLM_Qwen"} {
		for _, mask := range []cpu.Mask{{Kind: cpu.Causal}, {Kind: cpu.BlockCausal, Block: 4}} {
			t.Run(mt+"/"+mask.String(), func(t *testing.T) {
				m, err := Random(tinyConfig(mt), 7, tensor.F32, mt == "qwen2")
				if err != nil {
					t.Fatal(err)
				}
				V := m.cfg.VocabSize
				toks := randTokens(3, 11, V)
				want := full(t, m, toks, mask)
				pool := m.NewPool(0)
				cache := pool.NewSequence()
				// Prefill two blocks (commit), then denoise-style passes over the tail.
				pre := model.Seq{Tokens: toks[:8], Mask: mask, Cache: cache, Store: true}
				if err := m.Forward(&model.Batch{Seqs: []model.Seq{pre}}); err != nil {
					t.Fatal(err)
				}
				for range 2 { // a non-storing pass must leave the cache reusable
					tail := model.Seq{Tokens: toks[8:], Pos: 8, Mask: mask, Cache: cache, LogitRows: []int{0, 1, 2}, Logits: make([]float32, 3*V)}
					if err := m.Forward(&model.Batch{Seqs: []model.Seq{tail}}); err != nil {
						t.Fatal(err)
					}
					if d := maxAbsDiff(tail.Logits, want[8*V:]); d > 1e-4 {
						t.Fatalf("tail logits differ from full forward by %g", d)
					}
					if cache.Len() != 8 {
						t.Fatalf("cache length %d after a non-storing pass, want 8", cache.Len())
					}
				}
				if mask.Kind == cpu.Causal { // token-by-token AR decoding with Store
					c2 := pool.NewSequence()
					for i, tok := range toks {
						s := model.Seq{Tokens: []int32{tok}, Pos: i, Mask: mask, Cache: c2, Store: true, LogitRows: []int{0}, Logits: make([]float32, V)}
						if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
							t.Fatal(err)
						}
						if d := maxAbsDiff(s.Logits, want[i*V:(i+1)*V]); d > 1e-4 {
							t.Fatalf("AR step %d differs by %g", i, d)
						}
					}
				}
			})
		}
	}
}

// Stacking sequences in one batch changes nothing for each of them.
func TestBatchMatchesSingle(t *testing.T) {
	m, err := Random(tinyConfig("sdar"), 11, tensor.BF16, false)
	if err != nil {
		t.Fatal(err)
	}
	V := m.cfg.VocabSize
	a, b := randTokens(1, 9, V), randTokens(2, 5, V)
	wantA := full(t, m, a, cpu.Mask{Kind: cpu.BlockCausal, Block: 4})
	wantB := full(t, m, b, cpu.Mask{Kind: cpu.Bidirectional})
	sa := model.Seq{Tokens: a, Mask: cpu.Mask{Kind: cpu.BlockCausal, Block: 4}, LogitRows: []int{8, 0}, Logits: make([]float32, 2*V)}
	sb := model.Seq{Tokens: b, Mask: cpu.Mask{Kind: cpu.Bidirectional}, LogitRows: []int{4}, Logits: make([]float32, V)}
	if err := m.Forward(&model.Batch{Seqs: []model.Seq{sa, sb}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []float32
	}{
		{"a row 8", sa.Logits[:V], wantA[8*V:]},
		{"a row 0", sa.Logits[V:], wantA[:V]},
		{"b row 4", sb.Logits, wantB[4*V:]},
	} {
		if d := maxAbsDiff(c.got, c.want[:V]); d > 1e-4 {
			t.Errorf("%s differs by %g", c.name, d)
		}
	}
	// The same batch with its logits as consecutive pieces of one buffer
	// (the engine's layout: the LM head writes them in place) gives the
	// same logits; a buffer with a gap between the pieces is copied into.
	for _, gap := range []int{0, 1} {
		buf := make([]float32, (3+gap)*V)
		sa.Logits, sb.Logits = buf[:2*V], buf[(2+gap)*V:]
		if err := m.Forward(&model.Batch{Seqs: []model.Seq{sa, sb}}); err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(buf[:2*V], slices.Concat(wantA[8*V:9*V], wantA[:V])); d > 1e-4 {
			t.Errorf("gap %d: a's rows in one buffer differ by %g", gap, d)
		}
		if d := maxAbsDiff(buf[(2+gap)*V:], wantB[4*V:5*V]); d > 1e-4 {
			t.Errorf("gap %d: b's row in one buffer differs by %g", gap, d)
		}
	}
	if directLogits(&model.Batch{Seqs: []model.Seq{sa, sb}}, 3, V) != nil {
		t.Error("directLogits accepted pieces with a gap between them")
	}
}

func TestMasksDiffer(t *testing.T) {
	cfg := tinyConfig("qwen3")
	cfg.NumLayers = 1 // with more layers, earlier rows' K/V differ between masks
	m, _ := Random(cfg, 5, tensor.F32, true)
	toks := randTokens(9, 7, m.cfg.VocabSize)
	c := full(t, m, toks, cpu.Mask{Kind: cpu.Causal})
	bc := full(t, m, toks, cpu.Mask{Kind: cpu.BlockCausal, Block: 4})
	bi := full(t, m, toks, cpu.Mask{Kind: cpu.Bidirectional})
	V := m.cfg.VocabSize
	// Row 3 closes the first block: causal and block-causal agree there, and
	// differ on row 0 (which sees the whole first block under block-causal).
	if d := maxAbsDiff(c[3*V:4*V], bc[3*V:4*V]); d > 1e-5 {
		t.Errorf("row 3 causal vs block-causal differ by %g, want equal", d)
	}
	if d := maxAbsDiff(c[:V], bc[:V]); d < 1e-3 {
		t.Errorf("row 0 causal vs block-causal equal (%g), want different", d)
	}
	if d := maxAbsDiff(bc[6*V:], bi[6*V:]); d > 1e-5 { // last row sees everything under both
		t.Errorf("last row block-causal vs bidirectional differ by %g", d)
	}
}

func TestForwardErrors(t *testing.T) {
	m, _ := Random(tinyConfig("sdar"), 1, tensor.F32, false)
	pool := m.NewPool(0)
	tests := []struct {
		name string
		seq  model.Seq
		want string
	}{
		{"empty", model.Seq{}, "no tokens"},
		{"token out of vocab", model.Seq{Tokens: []int32{5, 101}}, "outside vocabulary"},
		{"negative token", model.Seq{Tokens: []int32{-1}}, "outside vocabulary"},
		{"pos without cache", model.Seq{Tokens: []int32{1}, Pos: 3}, "needs a KV cache"},
		{"store at wrong pos", model.Seq{Tokens: []int32{1}, Pos: 2, Cache: pool.NewSequence(), Store: true}, "cache holds 0 committed rows"},
		{"logit row out of range", model.Seq{Tokens: []int32{1}, LogitRows: []int{1}, Logits: make([]float32, 101)}, "logit row 1"},
		{"short logits buffer", model.Seq{Tokens: []int32{1}, LogitRows: []int{0}, Logits: make([]float32, 10)}, "logits buffer"},
		{"M-RoPE positions on a 1-D model", model.Seq{Tokens: []int32{1}, Rope: &model.Positions{IDs: [3][]int{{0}, {1}, {0}}}}, "without mrope_section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Forward(&model.Batch{Seqs: []model.Seq{tt.seq}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestForwardSummaries: a forward asked for row summaries returns what
// model.Summarize makes of the logits the same forward returns, here with
// the excluded entry set to each row's argmax so excluding it matters,
// sequences with logits and with summaries mixed in one batch.
func TestForwardSummaries(t *testing.T) {
	m, err := Random(tinyConfig("sdar"), 11, tensor.BF16, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	V := m.cfg.VocabSize
	mask := cpu.Mask{Kind: cpu.BlockCausal, Block: 4}
	toks := [][]int32{randTokens(1, 9, V), randTokens(2, 6, V)}
	rows := [][]int{{0, 4, 8}, {1, 5}}
	plain := func() [][]float32 {
		var out [][]float32
		for i := range toks {
			l := make([]float32, len(rows[i])*V)
			if err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: toks[i], Mask: mask, LogitRows: rows[i], Logits: l}}}); err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}()
	exclude := int32(model.Summarize(plain[1][:V], -1).Token) // the first summarized row's argmax
	sums := make([]model.RowStat, len(rows[1]))
	logits := make([]float32, len(rows[0])*V)
	b := &model.Batch{Seqs: []model.Seq{
		{Tokens: toks[0], Mask: mask, LogitRows: rows[0], Logits: logits},
		{Tokens: toks[1], Mask: mask, LogitRows: rows[1], Summaries: sums, Exclude: exclude},
	}}
	if err := m.Forward(b); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logits, plain[0]) {
		t.Error("the logits sequence's logits changed beside a summarized one")
	}
	for i := range rows[1] {
		want := model.Summarize(plain[1][i*V:(i+1)*V], exclude)
		if sums[i] != want {
			t.Errorf("row %d: summary %+v, want %+v", i, sums[i], want)
		}
	}
	if sums[0].Token == exclude {
		t.Errorf("row 0 chose the excluded token %d", exclude)
	}
	short := &model.Batch{Seqs: []model.Seq{{Tokens: toks[1], Mask: mask, LogitRows: rows[1], Summaries: sums[:1]}}}
	if err := m.Forward(short); err == nil || !strings.Contains(err.Error(), "summaries") {
		t.Errorf("too few summaries: err = %v", err)
	}
}
