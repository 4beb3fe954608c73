package qwen

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/model/safetensors"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// copyCheckpoint copies testdata/models/<name> into a temp dir.
func copyCheckpoint(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "..", "testdata", "models", name)
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// rewrite re-encodes dir/model.safetensors after edit changes its tensors.
func rewrite(t *testing.T, dir string, edit func(map[string]safetensors.Tensor)) {
	t.Helper()
	p := filepath.Join(dir, "model.safetensors")
	f, err := safetensors.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]safetensors.Tensor{}
	for _, n := range f.Names() {
		b, _ := f.Bytes(n)
		info := f.Info(n)
		ts[n] = safetensors.Tensor{DType: info.DType, Shape: info.Shape, Data: append([]byte(nil), b...)}
	}
	f.Close()
	edit(ts)
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrors(t *testing.T) {
	const victim = "model.layers.1.mlp.up_proj.weight"
	tests := []struct {
		name   string
		model  string
		break_ func(t *testing.T, dir string)
		want   []string // substrings of the one-line error
	}{
		{"missing tensor", "tiny-qwen2", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts map[string]safetensors.Tensor) { delete(ts, victim) })
		}, []string{"missing tensor", victim}},
		{"wrong shape", "tiny-qwen2", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts map[string]safetensors.Tensor) {
				x := ts[victim]
				x.Shape = []int{x.Shape[1], x.Shape[0]}
				ts[victim] = x
			})
		}, []string{"model.safetensors", victim, "has shape [128 256], want [256 128]"}},
		{"truncated file", "tiny-qwen2", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-100); err != nil {
				t.Fatal(err)
			}
		}, []string{"model.safetensors", "outside the", "truncated or corrupt"}},
		{"unknown dtype", "tiny-qwen2", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"dtype":"F32"`), []byte(`"dtype":"Q4_K"`), 1)
			os.WriteFile(p, b, 0o644)
		}, []string{"model.safetensors", `unknown dtype "Q4_K"`}},
		{"integer weight dtype", "tiny-qwen2", func(t *testing.T, dir string) {
			rewrite(t, dir, func(ts map[string]safetensors.Tensor) {
				x := ts[victim]
				x.DType = tensor.I32 // same size as F32
				ts[victim] = x
			})
		}, []string{victim, "has dtype I32"}},
		{"unknown architecture", "tiny-qwen2", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "config.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"model_type": "qwen2"`), []byte(`"model_type": "mamba9"`), 1), 0o644)
		}, []string{"config.json", `unknown architecture model_type "mamba9"`, "qwen3"}},
		{"pickle only", "tiny-qwen2", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model.safetensors"))
			os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("\x80\x02pickle"), 0o644)
		}, []string{"found pickle file pytorch_model.bin"}},
		{"no weights", "tiny-qwen2", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model.safetensors"))
		}, []string{"no model.safetensors or model.safetensors.index.json"}},
		{"index names a shard without the tensor", "tiny-sdar", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors.index.json")
			b, _ := os.ReadFile(p)
			b = bytes.Replace(b, []byte(`"model.norm.weight": "model-00002-of-00002.safetensors"`), []byte(`"model.norm.weight": "model-00001-of-00002.safetensors"`), 1)
			b = bytes.Replace(b, []byte(`"model.norm.weight": "model-00001-of-00002.safetensors"`), []byte(`"model.norm.weight": "model-00002-of-00002.safetensors"`), 1)
			// swap whichever shard holds lm_head for the other one
			if bytes.Contains(b, []byte(`"lm_head.weight": "model-00001-of-00002.safetensors"`)) {
				b = bytes.Replace(b, []byte(`"lm_head.weight": "model-00001-of-00002.safetensors"`), []byte(`"lm_head.weight": "model-00002-of-00002.safetensors"`), 1)
			} else {
				b = bytes.Replace(b, []byte(`"lm_head.weight": "model-00002-of-00002.safetensors"`), []byte(`"lm_head.weight": "model-00001-of-00002.safetensors"`), 1)
			}
			os.WriteFile(p, b, 0o644)
		}, []string{"model.safetensors.index.json", `tensor "lm_head.weight" is mapped to`, "does not contain it"}},
		{"missing shard", "tiny-sdar", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		}, []string{"model-00002-of-00002.safetensors", "no such file"}},
		{"bad config", "tiny-qwen3", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "config.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"num_key_value_heads": 2`), []byte(`"num_key_value_heads": 3`), 1), 0o644)
		}, []string{"config.json", "not a multiple of num_key_value_heads 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyCheckpoint(t, tt.model)
			tt.break_(t, dir)
			m, err := model.Load(dir, model.LoadOptions{})
			if err == nil {
				m.Close()
				t.Fatalf("Load succeeded, want error with %q", tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// Weight conversions at load: bf16 and int8 copies of an fp32 checkpoint
// stay close to the fp32 logits (int8 with per-row scales is lossy).
func TestLoadConversions(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata", "models", "tiny-qwen3")
	ref, err := model.Load(dir, model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	V := ref.Config().VocabSize
	toks := randTokens(4, 9, V)
	run := func(m model.Model) []float32 {
		s := model.Seq{Tokens: toks, Mask: cpu.Mask{Kind: cpu.Causal}, LogitRows: allRows(len(toks)), Logits: make([]float32, len(toks)*V)}
		if err := m.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
			t.Fatal(err)
		}
		return s.Logits
	}
	want := run(ref)
	scale := maxAbs(want)
	var progressed int64
	for _, c := range []struct {
		wt  string
		tol float64 // relative to the largest |logit|
	}{{"bf16", 0.02}, {"int8", 0.05}, {"f32", 1e-6}} {
		m, err := model.Load(dir, model.LoadOptions{WeightType: c.wt, Progress: func(done, total int64) { progressed = done }})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := maxAbsDiffAt(run(m), want)
		t.Logf("%s: max abs err %.3g (%.2g%% of max |logit| %.3g), weights %d bytes", c.wt, d, 100*d/scale, scale, m.WeightBytes())
		if d > c.tol*scale {
			t.Errorf("%s: max abs err %.3g > %.3g", c.wt, d, c.tol*scale)
		}
		m.Close()
	}
	if progressed == 0 {
		t.Error("progress callback never called")
	}
	if _, err := model.Load(dir, model.LoadOptions{WeightType: "fp8"}); err == nil || !strings.Contains(err.Error(), `unknown weight type "fp8"`) {
		t.Errorf("bad weight type: err = %v", err)
	}
}

// The language models of the composite speech and vision checkpoints load
// from their language_model.* tensors.
func TestLoadCompositeCheckpoints(t *testing.T) {
	for _, name := range []string{"demo-speech", "demo-vision"} {
		t.Run(name, func(t *testing.T) {
			m, err := model.Load(filepath.Join("..", "..", "..", "testdata", "models", name), model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if c := m.Config(); c.Composite == "" || c.ModelType != "sdar" || c.HiddenSize != 160 {
				t.Errorf("config: composite %q, model_type %q, hidden %d", c.Composite, c.ModelType, c.HiddenSize)
			}
			if w := m.(*Model).Weights().Root(); !w.Has("language_model.model.norm.weight") {
				t.Error("Root() does not reach the checkpoint's full tensor set")
			}
		})
	}
}
