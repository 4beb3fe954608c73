package decode_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/tokenizer"
)

// freeDavePrompts are the prompts FreeDave is checked on for a checkpoint:
// the decode goldens' distinct prompts, then (demo-text) the first n
// held-out instructions in the chat template, or (tiny ones) n made-up
// prompts of 1 to 14 tokens.
func freeDavePrompts(t testing.TB, name string, n int) (prompts [][]int32, stop []int32) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "golden", "decode", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g decodeGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		if !slices.ContainsFunc(prompts, func(p []int32) bool { return slices.Equal(p, c.Prompt) }) {
			prompts = append(prompts, c.Prompt)
		}
	}
	if name != "demo-text" {
		for i := range n {
			prompts = append(prompts, prompt(1+i%14, int32(i+1)))
		}
		return prompts, g.StopIDs
	}
	tok, err := tokenizer.Load(filepath.Join("..", "..", "testdata", "models", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("..", "..", "testdata", "heldout", "text", "instructions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 0; i < n && sc.Scan(); i++ {
		var rec struct{ Input string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		text, err := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: rec.Input}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			t.Fatal(err)
		}
		prompts = append(prompts, tok.Encode(text))
	}
	return prompts, g.StopIDs
}

// FreeDave is lossless: token for token the output of the policy it wraps
// (one token per step, greedy, by default; a threshold, LocalLeap, a
// static schedule of two per step), on every prompt, in no more forwards;
// the forwards ratio is logged. The trained demo checkpoint shows the saving; of the random-weight
// ones, tiny-sdar accepts some drafts and tiny-fastdllm almost none (its
// one-per-step choice is the leftmost mask, with a token its drafts at
// later positions never hold), ratio about 1.
func TestFreeDaveLossless(t *testing.T) {
	tests := []struct {
		name   string
		n      int // prompts beyond the goldens'
		maxNew int
		ks     []int
		min    float32       // FreeDave.MinConf
		of     decode.Policy // FreeDave.Of (nil: one token per step)
		tree   int           // FreeDave.Tree
		alt    float32       // FreeDave.Alt
		opts   model.LoadOptions
		params decode.Params
	}{
		{name: "tiny-sdar", n: 24, maxNew: 24, ks: []int{2, 4}, opts: model.LoadOptions{Exact: true}},
		{name: "tiny-sdar", n: 8, maxNew: 24, ks: []int{4}, opts: model.LoadOptions{Exact: true}, params: decode.Params{NoCache: true}},
		{name: "tiny-fastdllm", n: 24, maxNew: 24, ks: []int{2, 8}, opts: model.LoadOptions{Exact: true}},
		{name: "tiny-fastdllm", n: 8, maxNew: 24, ks: []int{8}, opts: model.LoadOptions{Exact: true}, params: decode.Params{SubBlock: 4}},
		{name: "demo-text", n: 200, maxNew: 64, ks: []int{4}, opts: model.LoadOptions{Exact: true}}, // every held-out instruction
		{name: "demo-text", n: 40, maxNew: 64, ks: []int{4}, min: 0.5, opts: model.LoadOptions{Exact: true}},
		{name: "demo-text", n: 16, maxNew: 64, ks: []int{2, 4}}, // the kernels' default path
		{name: "tiny-sdar", n: 24, maxNew: 24, ks: []int{4}, of: decode.Threshold{Tau: 0.05}, opts: model.LoadOptions{Exact: true}},
		{name: "tiny-fastdllm", n: 24, maxNew: 24, ks: []int{8}, of: decode.Threshold{Tau: 0.05}, opts: model.LoadOptions{Exact: true}, params: decode.Params{SubBlock: 4}},
		{name: "tiny-sdar", n: 16, maxNew: 24, ks: []int{4}, of: decode.StaticTopK{Steps: 2}, opts: model.LoadOptions{Exact: true}},
		{name: "demo-text", n: 200, maxNew: 64, ks: []int{4}, of: decode.Threshold{Tau: 0.9}, opts: model.LoadOptions{Exact: true}},
		{name: "demo-text", n: 40, maxNew: 64, ks: []int{4}, of: decode.Threshold{Tau: 0.7}, opts: model.LoadOptions{Exact: true}},
		{name: "demo-text", n: 40, maxNew: 64, ks: []int{4}, of: decode.LocalLeap{High: 0.9, Low: 0.5, Radius: 2}, opts: model.LoadOptions{Exact: true}},
		{name: "demo-text", n: 40, maxNew: 64, ks: []int{4}, of: decode.StaticTopK{Steps: 2}, opts: model.LoadOptions{Exact: true}},
		// Trees: other combinations of the drafts, other tokens at them.
		{name: "tiny-sdar", n: 8, maxNew: 24, ks: []int{4}, tree: 64, alt: 0.01, opts: model.LoadOptions{Exact: true}},
		{name: "tiny-sdar", n: 24, maxNew: 24, ks: []int{4}, of: decode.Threshold{Tau: 0.05}, tree: 64, alt: 0.01, opts: model.LoadOptions{Exact: true}},
		{name: "tiny-sdar", n: 8, maxNew: 24, ks: []int{4}, tree: 16, opts: model.LoadOptions{Exact: true}, params: decode.Params{NoCache: true}},
		{name: "tiny-fastdllm", n: 24, maxNew: 24, ks: []int{8}, of: decode.Threshold{Tau: 0.05}, tree: 64, alt: 0.01, opts: model.LoadOptions{Exact: true}, params: decode.Params{SubBlock: 4}},
		{name: "demo-text", n: 80, maxNew: 64, ks: []int{4}, of: decode.Threshold{Tau: 0.9}, tree: 64, alt: 0.005, opts: model.LoadOptions{Exact: true}},
		{name: "demo-text", n: 40, maxNew: 64, ks: []int{4}, of: decode.Threshold{Tau: 0.7}, tree: 8, alt: 0.05},
	}
	for _, tt := range tests {
		m, a := loadModel(t, tt.name, tt.opts)
		prompts, stop := freeDavePrompts(t, tt.name, tt.n)
		for _, k := range tt.ks {
			label := tt.name
			if tt.params.NoCache {
				label += "/nocache"
			}
			if tt.params.SubBlock > 0 {
				label += "/subblock"
			}
			if !tt.opts.Exact {
				label += "/default-kernels"
			}
			if tt.min > 0 {
				label += fmt.Sprintf("/minconf=%g", tt.min)
			}
			if tt.tree > 0 {
				label += fmt.Sprintf("/tree=%d,alt=%g", tt.tree, tt.alt)
			}
			rule := tt.of
			if rule != nil {
				label += fmt.Sprintf("/of=%+v", rule)
			} else {
				rule = decode.StaticTopK{Steps: a.Block}
			}
			t.Run(label, func(t *testing.T) {
				base, fd, tokens := 0, 0, 0
				for i, pr := range prompts {
					p := tt.params
					p.MaxNew, p.Stop, p.Policy = tt.maxNew, stop, rule
					want, wf := generate(t, m, a, pr, p)
					p.Policy = decode.FreeDave{K: k, MinConf: tt.min, Of: tt.of, Tree: tt.tree, Alt: tt.alt}
					got, gf := generate(t, m, a, pr, p)
					if !slices.Equal(got, want) {
						t.Fatalf("prompt %d (K=%d): FreeDave differs from %+v:\n got %v\nwant %v", i, k, rule, got, want)
					}
					if gf > wf {
						t.Errorf("prompt %d (K=%d): %d forwards, %+v took %d", i, k, gf, rule, wf)
					}
					base, fd, tokens = base+wf, fd+gf, tokens+len(got)
				}
				t.Logf("K=%d, %d prompts, %d tokens: %d forwards vs %d unverified (ratio %.3f; %.2f vs %.2f tokens per forward)",
					k, len(prompts), tokens, fd, base, float64(fd)/float64(base), float64(tokens)/float64(fd), float64(tokens)/float64(base))
			})
		}
	}
}

// A template and a constraint compose: the fixed positions stay, the
// constraint restricts every candidate state's rows by its own tokens.
func TestFreeDaveTemplateConstraint(t *testing.T) {
	for _, name := range []string{"tiny-sdar", "tiny-fastdllm"} {
		m, a := loadTiny(t, name)
		base, fd := 0, 0
		for seed := int32(1); seed <= 8; seed++ {
			pr := prompt(int(3+seed), seed)
			tmpl := template(a.MaskID)
			p := decode.Params{Template: tmpl, Constraint: &rangeConstraint{lo: 100, hi: 200, mask: a.MaskID}, Policy: decode.StaticTopK{Steps: a.Block}}
			want, wf := generate(t, m, a, pr, p)
			p.Policy = decode.FreeDave{}
			got, gf := generate(t, m, a, pr, p)
			if !slices.Equal(got, want) || gf > wf {
				t.Fatalf("%s seed %d: FreeDave %v in %d forwards, one per step %v in %d", name, seed, got, gf, want, wf)
			}
			checkTemplate(t, tmpl, got, a.MaskID)
			base, fd = base+wf, fd+gf
			// A threshold low enough to commit several per step: the
			// constraint's filter of conflicting commits is replayed too.
			p.Policy = decode.Threshold{Tau: 0.02}
			want, wf = generate(t, m, a, pr, p)
			p.Policy = decode.FreeDave{Of: decode.Threshold{Tau: 0.02}}
			if got, gf = generate(t, m, a, pr, p); !slices.Equal(got, want) || gf > wf {
				t.Fatalf("%s seed %d: FreeDave over a threshold %v in %d forwards, the threshold %v in %d", name, seed, got, gf, want, wf)
			}
			// A tree: its candidates' rows are restricted by their own
			// tokens, other tokens at the drafts included.
			p.Policy = decode.FreeDave{Of: decode.Threshold{Tau: 0.02}, Tree: 32, Alt: 0.01}
			if got, gf = generate(t, m, a, pr, p); !slices.Equal(got, want) || gf > wf {
				t.Fatalf("%s seed %d: FreeDave's tree over a threshold %v in %d forwards, the threshold %v in %d", name, seed, got, gf, want, wf)
			}
		}
		t.Logf("%s: %d forwards vs %d one per step", name, fd, base)
	}
}

// What FreeDave does not support it refuses.
func TestFreeDaveRefuses(t *testing.T) {
	a := decode.Arch{Block: 4, MaskID: 9, Vocab: 10}
	tests := []struct {
		name string
		p    decode.Params
	}{
		{"sampling", decode.Params{MaxNew: 8, Policy: decode.FreeDave{}, Sampling: decode.Sampling{Temperature: 1}}},
		{"block cache", decode.Params{MaxNew: 8, Policy: decode.FreeDave{}, BlockCache: true}},
		{"credit (state across steps, logits rewritten)", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Of: decode.DefaultCredit()}}},
		{"itersmooth (soft inputs)", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Of: decode.DefaultIterSmooth(0.9)}}},
		{"itself", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Of: decode.FreeDave{}}}},
		{"credit behind a prior", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Of: decode.PriorGuided{Fallback: decode.DefaultCredit()}}}},
		{"other tokens without a tree", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Alt: 0.1}}},
		{"a negative tree", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Tree: -1}}},
		{"a bar above 1", decode.Params{MaxNew: 8, Policy: decode.FreeDave{Tree: 4, Alt: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decode.NewBlock(a, []int32{1, 2, 3}, tt.p); err == nil {
				t.Fatalf("NewBlock accepted FreeDave with %s", tt.name)
			}
		})
	}
	if _, err := decode.NewCanvas(a, []int32{1, 2, 3}, decode.CanvasParams{Params: decode.Params{MaxNew: 8, Policy: decode.FreeDave{}}}); err == nil {
		t.Fatal("NewCanvas accepted FreeDave")
	}
}

// Short of KV pages, the executor runs fewer branches (ToModels leaves out
// those whose fork finds no pages): still token for token, and no more
// forwards than one token per step.
func TestFreeDaveFewPages(t *testing.T) {
	m, a := loadModel(t, "demo-text", model.LoadOptions{Exact: true})
	prompts, stop := freeDavePrompts(t, "demo-text", 12)
	const maxNew = 48
	short, full, base := 0, 0, 0
	for i, pr := range prompts {
		p := decode.Params{MaxNew: maxNew, Stop: stop, Policy: decode.StaticTopK{Steps: a.Block}}
		want, wf := generate(t, m, a, pr, p)
		p.Policy = decode.FreeDave{}
		_, ff := generate(t, m, a, pr, p)
		full += ff
		s, err := decode.NewBlock(a, pr, p)
		if err != nil {
			t.Fatal(err)
		}
		rows := len(pr) + maxNew + 2*a.Block
		pool := m.NewPool(m.NewPool(0).BytesFor(rows)) // the request's own reservation, nothing for forks
		cache := pool.NewSequence()
		if err := cache.Reserve(rows); err != nil {
			t.Fatal(err)
		}
		if err := decode.Run(context.Background(), m, cache, s); err != nil {
			t.Fatal(err)
		}
		cache.Free()
		if got := s.Output(); !slices.Equal(got, want) || s.Forwards() > wf {
			t.Fatalf("prompt %d: %v in %d forwards, one per step %v in %d", i, got, s.Forwards(), want, wf)
		}
		short, base = short+s.Forwards(), base+wf
	}
	t.Logf("%d prompts: %d forwards short of pages, %d with pages for every branch, %d one per step", len(prompts), short, full, base)
}
