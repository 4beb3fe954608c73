package qwen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/model/safetensors"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// LLaDA goldens come from LLaDA's own modeling code (modeling_llada.py as
// NVlabs/Fast-dLLM keeps it), run by tools/reference/llada_golden.py on the
// tiny random bf16 checkpoint testdata/models/tiny-llada in fp32 from the
// stored weights: logits of two sequences (random ids; a prompt followed by
// masks) under LLaDA's bidirectional attention, and the hidden states of
// the first. Tolerance: goldenTol (1e-4) on logits, as for the Qwen
// checkpoints.
func TestLLaDAGoldenLogits(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata")
	m, err := model.Load(filepath.Join(dir, "models", "tiny-llada"), model.LoadOptions{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if tr := m.Traits(); tr.Mask.Kind != cpu.Bidirectional || tr.Shifted || !tr.Diffusion || tr.QKNorm {
		t.Fatalf("traits %+v, want bidirectional, unshifted diffusion without QK norm", tr)
	}
	g, err := safetensors.Open(filepath.Join(dir, "golden", "tiny-llada.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c := m.Config()
	V, H := c.VocabSize, c.HiddenSize
	for i := range 2 {
		t.Run(fmt.Sprintf("seq%d", i), func(t *testing.T) {
			ids, err := g.Int64(fmt.Sprintf("input_ids.%d", i))
			if err != nil {
				t.Fatal(err)
			}
			toks := make([]int32, len(ids))
			for j, v := range ids {
				toks[j] = int32(v)
			}
			T := len(toks)
			hidden := map[int][]float32{}
			s := model.Seq{Tokens: toks, Mask: m.Traits().Mask, LogitRows: allRows(T), Logits: make([]float32, T*V)}
			b := &model.Batch{Seqs: []model.Seq{s}, Hidden: func(_, layer int, h []float32) {
				hidden[layer] = append([]float32(nil), h...)
			}}
			if err := m.Forward(b); err != nil {
				t.Fatal(err)
			}
			want, err := g.Float32(fmt.Sprintf("logits.%d", i))
			if err != nil {
				t.Fatal(err)
			}
			d, at := maxAbsDiffAt(s.Logits, want)
			t.Logf("max |Δlogit| %.3g at row %d (logit scale %.3g)", d, at/V, maxAbs(want))
			if d > goldenTol {
				t.Errorf("max |Δlogit| %.3g at row %d col %d > %g", d, at/V, at%V, goldenTol)
			}
			if i != 0 {
				return
			}
			for l := 0; l < c.NumLayers; l++ { // the reference's last entry is after ln_f
				wh, err := g.Float32(fmt.Sprintf("hidden.0.%d", l))
				if err != nil {
					t.Fatal(err)
				}
				if d, at := maxAbsDiffAt(hidden[l], wh); d > goldenTol*max(1, maxAbs(wh)/10) {
					t.Errorf("hidden state after layer %d: max abs err %.3g at row %d", l, d, at/H)
				}
			}
		})
	}
}

// lladaBody is tiny-llada's config.json with edits: key, raw JSON value
// pairs; a nil value deletes the key.
func lladaBody(t *testing.T, kv ...any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "models", "tiny-llada", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(kv); i += 2 {
		key := `"` + kv[i].(string) + `": `
		at := strings.Index(s, key)
		if at < 0 {
			t.Fatalf("no key %s", key)
		}
		end := at + len(key) + strings.IndexAny(s[at+len(key):], ",\n}")
		if kv[i+1] == nil {
			s = s[:at] + `"_removed": 0` + s[end:]
			continue
		}
		s = s[:at] + key + kv[i+1].(string) + s[end:]
	}
	return []byte(s)
}

// LLaDA's config keys map onto the engine's fields with
// configuration_llada.py's defaults; what the engine does not run is
// refused by name.
func TestParseLLaDAConfig(t *testing.T) {
	tests := []struct {
		name string
		kv   []any
		// want: hidden, layers, heads, kv heads, head_dim, intermediate, vocab, mask (-1: none)
		want [8]int
		eps  float64
		tied bool
		bias bool
		err  string
	}{
		{name: "tiny-llada", want: [8]int{48, 2, 4, 2, 12, 128, 1600, 1571}, eps: 1e-5},
		{name: "defaults", kv: []any{"n_kv_heads", nil, "mlp_hidden_size", nil, "rms_norm_eps", nil, "weight_tying", nil, "mask_token_id", nil},
			want: [8]int{48, 2, 4, 4, 12, 192, 1600, -1}, eps: 1e-5, tied: true},
		{name: "LLaDA mask id by default", kv: []any{"mask_token_id", nil, "embedding_size", "126464", "vocab_size", "126464"},
			want: [8]int{48, 2, 4, 2, 12, 128, 126464, 126336}, eps: 1e-5},
		{name: "embedding_size absent is 50304", kv: []any{"embedding_size", nil},
			want: [8]int{48, 2, 4, 2, 12, 128, 50304, 1571}, eps: 1e-5},
		{name: "embedding_size null is vocab_size", kv: []any{"embedding_size", "null"},
			want: [8]int{48, 2, 4, 2, 12, 128, 1572, 1571}, eps: 1e-5},
		{name: "multi-query", kv: []any{"n_kv_heads", nil, "multi_query_attention", "true"},
			want: [8]int{48, 2, 4, 1, 12, 128, 1600, 1571}, eps: 1e-5},
		{name: "qkv bias", kv: []any{"include_qkv_bias", "true"},
			want: [8]int{48, 2, 4, 2, 12, 128, 1600, 1571}, eps: 1e-5, bias: true},
		{name: "sequential block", kv: []any{"block_type", `"sequential"`}, err: `block_type "sequential" is not supported`},
		{name: "block_type absent", kv: []any{"block_type", nil}, err: `block_type "sequential" is not supported`},
		{name: "swiglu", kv: []any{"activation_type", `"swiglu"`}, err: `activation_type "swiglu"`},
		{name: "layer norm", kv: []any{"layer_norm_type", `"default"`}, err: `layer_norm_type "default"`},
		{name: "no rope", kv: []any{"rope", "false"}, err: "rope false is not supported"},
		{name: "alibi", kv: []any{"alibi", "true"}, err: "alibi true"},
		{name: "qk norm", kv: []any{"attention_layer_norm", "true"}, err: "attention_layer_norm true"},
		{name: "biases", kv: []any{"include_bias", "true", "bias_for_layer_norm", "null"}, err: "include_bias true"},
		{name: "norm bias", kv: []any{"bias_for_layer_norm", "true"}, err: "bias_for_layer_norm true"},
		{name: "logit scale", kv: []any{"scale_logits", "true"}, err: "scale_logits true"},
		{name: "input scale", kv: []any{"input_emb_norm", "true"}, err: "input_emb_norm true"},
		{name: "no norm weights", kv: []any{"layer_norm_with_affine", "false"}, err: "layer_norm_with_affine false"},
		{name: "block groups", kv: []any{"block_group_size", "2"}, err: "block_group_size 2"},
		{name: "heads do not divide", kv: []any{"n_heads", "5"}, err: "d_model 48 is not a multiple of n_heads 5"},
		{name: "mqa disagrees", kv: []any{"multi_query_attention", "true"}, err: "multi_query_attention true and n_kv_heads 2 disagree"},
		{name: "embeddings below vocab", kv: []any{"embedding_size", "1000"}, err: "embedding_size 1000 is smaller than vocab_size 1572"},
		{name: "mask outside", kv: []any{"mask_token_id", "1600"}, err: "mask_token_id 1600 is outside the vocabulary [0, 1600)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := model.ParseConfig("config.json", lladaBody(t, tt.kv...))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "config.json: ") {
					t.Fatalf("err %v, want config.json: ...%s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mask := -1
			if c.MaskTokenID != nil {
				mask = *c.MaskTokenID
			}
			got := [8]int{c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKVHeads, c.HeadDim, c.IntermediateSize, c.VocabSize, mask}
			if got != tt.want || c.RMSNormEps != tt.eps || c.TieWordEmbeddings != tt.tied || *c.AttentionBias != tt.bias || c.ModelType != "llada" {
				t.Errorf("got %v eps %v tied %v bias %v type %q, want %v %v %v %v", got, c.RMSNormEps, c.TieWordEmbeddings, *c.AttentionBias, c.ModelType, tt.want, tt.eps, tt.tied, tt.bias)
			}
			if c.RopeTheta != 500000 || c.MaxPositionEmbeddings != 256 {
				t.Errorf("rope_theta %v, max positions %d", c.RopeTheta, c.MaxPositionEmbeddings)
			}
		})
	}
}

// An untied LLaDA config must find its head (transformer.ff_out): it is
// not silently tied as a Qwen checkpoint without lm_head is; a tied one
// uses the embedding.
func TestLoadLLaDAHead(t *testing.T) {
	src := filepath.Join("..", "..", "..", "testdata", "models", "tiny-llada")
	const head = "model.transformer.ff_out.weight"
	for _, tt := range []struct {
		name, tying string
		noHead      bool
		err         string
	}{
		{"untied", "false", false, ""},
		{"tied", "true", false, ""},
		{"tied without head", "true", true, ""},
		{"untied without head", "false", true, `missing tensor "model.transformer.ff_out.weight" (the config unties the LM head)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := os.ReadFile(filepath.Join(src, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.noHead { // rename the head in the header (same length)
				st = bytes.Replace(st, []byte(head), []byte("model.transformer.ff_xxx.weight"), 1)
			}
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), st, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "config.json"), lladaBody(t, "weight_tying", tt.tying), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(dir, model.LoadOptions{Exact: true})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			q := m.(*Model)
			if tied := q.LMHead == q.Embed; tied != (tt.tying == "true") {
				t.Errorf("weight_tying %s: head tied %v", tt.tying, tied)
			}
		})
	}
}

// The packed bf16 fast path (where the kernels prefer it) must be no
// further from LLaDA's fp32 logits than LLaDA's own code run natively in
// bf16 is.
func TestLLaDAGoldenLogitsPacked(t *testing.T) {
	if !cpu.PreferPacked() {
		t.Skipf("kernel path %s does not pack bf16 weights", cpu.Path())
	}
	dir := filepath.Join("..", "..", "..", "testdata")
	m, err := model.Load(filepath.Join(dir, "models", "tiny-llada"), model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	g, err := safetensors.Open(filepath.Join(dir, "golden", "tiny-llada.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	got, want, native := lladaLogits(t, m, g, m.Forward)
	d, at := maxAbsDiffAt(got, want)
	dn, _ := maxAbsDiffAt(native, want)
	t.Logf("packed path %s: max |Δlogit| %.3g at row %d; native bf16 LLaDA: %.3g", cpu.Path(), d, at/m.Config().VocabSize, dn)
	if d > dn {
		t.Errorf("packed max |Δlogit| %.3g > native bf16 LLaDA's %.3g", d, dn)
	}
}

// On a CUDA device (skipped without one) LLaDA's forward stays within the
// device tolerance of TestDeviceGoldenLogits: twice the CPU bf16 path's
// error, at least deviceTolFP32.
func TestDeviceLLaDAGoldenLogits(t *testing.T) {
	b := deviceOrSkip(t)
	dir := filepath.Join("..", "..", "..", "testdata")
	hm, err := model.Load(filepath.Join(dir, "models", "tiny-llada"), model.LoadOptions{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	dm, err := hm.(*Model).OnDevice(b)
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Free()
	fast, err := model.Load(filepath.Join(dir, "models", "tiny-llada"), model.LoadOptions{WeightType: "bf16"})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	g, err := safetensors.Open(filepath.Join(dir, "golden", "tiny-llada.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	cpuGot, want, _ := lladaLogits(t, fast, g, fast.Forward)
	cpuErr, _ := maxAbsDiffAt(cpuGot, want)
	tol := max(2*cpuErr, deviceTolFP32)
	for run := range 3 { // eager, captured, replayed
		got, _, _ := lladaLogits(t, hm, g, dm.Forward)
		d, at := maxAbsDiffAt(got, want)
		t.Logf("run %d: max |Δlogit| %.3g at row %d (CPU bf16 path %.3g, tolerance %.3g)", run, d, at/hm.Config().VocabSize, cpuErr, tol)
		if d > tol {
			t.Errorf("run %d: max |Δlogit| %.3g > %.3g", run, d, tol)
		}
	}
}

// lladaLogits runs the golden's first sequence through forward (m's
// config and traits) and returns its logits, the fp32 reference's and the
// native bf16 reference's.
func lladaLogits(t *testing.T, m model.Model, g *safetensors.File, forward func(*model.Batch) error) (got, want, native []float32) {
	t.Helper()
	ids, err := g.Int64("input_ids.0")
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]int32, len(ids))
	for j, v := range ids {
		toks[j] = int32(v)
	}
	T, V := len(toks), m.Config().VocabSize
	s := model.Seq{Tokens: toks, Mask: m.Traits().Mask, LogitRows: allRows(T), Logits: make([]float32, T*V)}
	if err := forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
		t.Fatal(err)
	}
	if want, err = g.Float32("logits.0"); err != nil {
		t.Fatal(err)
	}
	if native, err = g.Float32("logits_native.0"); err != nil {
		t.Fatal(err)
	}
	return s.Logits, want, native
}

// Random builds LLaDA models as Load does: bidirectional, unshifted,
// diffusion, no q/k/v biases by default, tied or not as asked.
func TestRandomLLaDA(t *testing.T) {
	for _, tied := range []bool{false, true} {
		m, err := Random(tinyConfig("llada"), 5, tensor.F32, tied)
		if err != nil {
			t.Fatal(err)
		}
		tr := m.Traits()
		if tr.Mask.Kind != cpu.Bidirectional || tr.Shifted || !tr.Diffusion || tr.QKNorm || *m.cfg.AttentionBias || m.Layers[0].QBias != nil || (m.LMHead == m.Embed) != tied {
			t.Errorf("tied %v: traits %+v, bias %v, head tied %v", tied, tr, *m.cfg.AttentionBias, m.LMHead == m.Embed)
		}
		m.Close()
	}
}
