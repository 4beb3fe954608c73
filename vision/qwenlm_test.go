package vision

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/model/safetensors"
	"dlmstream/kernels/cpu"
)

var (
	qwenOnce sync.Once
	qwenEng  *engine.Engine
	qwenErr  error
)

// tinyQwenEngine is one engine on tiny-qwen25vl (block-diffusion Qwen2.5
// language model with M-RoPE) for the package's tests.
func tinyQwenEngine(t testing.TB) *engine.Engine {
	t.Helper()
	qwenOnce.Do(func() { qwenEng, qwenErr = engine.New(filepath.Join(modelsDir, "tiny-qwen25vl"), engine.Options{}) })
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenEng
}

// qwenLMGolden is testdata/golden/vision/qwen-lm.json, written by
// tools/reference/qwen25vl_lm_golden.py: transformers'
// Qwen2_5_VLForConditionalGeneration on tiny-qwen25vl, one image.
type qwenLMGolden struct {
	Image     string    `json:"image"`
	Prompt    string    `json:"prompt"`
	Grid      []int     `json:"grid_thw"`
	Features  f32Array  `json:"features"`
	InputIDs  []int32   `json:"input_ids"`
	Positions [][]int   `json:"position_ids"`
	Delta     int       `json:"rope_delta"`
	Generated []int32   `json:"generated"`
	Margins   []float64 `json:"margins"`
	LogitPos  []int     `json:"logit_positions"`
	Logits    f32Array  `json:"logits"`
	Block     int       `json:"block_size"`
	BlockLog  f32Array  `json:"block_logits"`
}

// logitRecorder is a decode.Constraint that allows everything and keeps a
// copy of every logits row it is shown, by generated position.
type logitRecorder struct {
	mu   sync.Mutex
	rows map[int][]float32
}

func (r *logitRecorder) Restrict(_ []int32, pos int, logits []float32) {
	r.mu.Lock()
	r.rows[pos] = slices.Clone(logits)
	r.mu.Unlock()
}

func (r *logitRecorder) Accept([]int32, int, int32) bool { return true }

// relDiff is max |a-b| over the entries where want is finite, relative to
// max |want| (and that scale).
func relDiff(got, want []float32) (rel, scale float64) {
	var d float64
	for i, w := range want {
		if math.IsInf(float64(got[i]), 0) { // the mask id's logit, removed by the decoder
			continue
		}
		d = max(d, math.Abs(float64(got[i])-float64(w)))
		scale = max(scale, math.Abs(float64(w)))
	}
	return d / scale, scale
}

// TestQwenLMMatchesTransformers runs the Qwen2.5-VL language model with
// M-RoPE against transformers on tiny-qwen25vl, one image and a caption
// prompt (golden: tools/reference/qwen25vl_lm_golden.py):
//   - the Captioner builds transformers' prompt and get_rope_index positions;
//   - one causal forward over prompt + continuation gives transformers' logits
//     at text, image, post-image and generated positions, and so does one
//     under block-diffusion decoding's block-causal mask;
//   - the engine's autoregressive decoding (block size 1, causal, KV cache,
//     rope delta for generated tokens) gives the greedy tokens, and the logits
//     it decodes each from equal transformers';
//   - captioning end to end (the Go tower's rows) gives the same text.
//
// Tolerance: 1e-4 of the largest |logit| (fp32 weights; measured ~1e-6).
func TestQwenLMMatchesTransformers(t *testing.T) {
	const tol = 1e-4
	var g qwenLMGolden
	readGolden(t, "qwen-lm.json", &g)
	eng := tinyQwenEngine(t)
	c, err := For(eng)
	if err != nil {
		t.Fatal(err)
	}
	q := c.Vision.Encoder.(*QwenVision)
	img := goldenImage(t, g.Image)
	f, err := q.Encode(img)
	if err != nil {
		t.Fatal(err)
	}
	if gr := []int{f.Grid.T, f.Grid.H, f.Grid.W}; !equalInts(gr, g.Grid) {
		t.Fatalf("grid %v, want %v", gr, g.Grid)
	}
	feats := g.Features.values(t) // transformers' merger rows: the language model alone is compared
	cfg := eng.Model.Config()
	V := cfg.VocabSize
	want := g.Logits.values(t)

	t.Run("prompt", func(t *testing.T) {
		req, err := c.request(f, CaptionOptions{Prompt: g.Prompt})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(req.Tokens, g.InputIDs) {
			t.Fatalf("prompt ids\n%v\nwant\n%v", req.Tokens, g.InputIDs)
		}
		for a := range 3 {
			if !equalInts(req.Positions[a], g.Positions[a]) {
				t.Fatalf("position ids axis %d = %v, want %v", a, req.Positions[a], g.Positions[a])
			}
		}
		if pos, err := model.NewPositions(req.Positions); err != nil || pos.Delta != g.Delta {
			t.Errorf("rope delta %v (%v), want %d", pos, err, g.Delta)
		}
	})

	start := slices.Index(g.InputIDs, int32(f.TokenID))
	rope, err := model.NewPositions([3][]int{g.Positions[0], g.Positions[1], g.Positions[2]})
	if err != nil {
		t.Fatal(err)
	}

	for _, fw := range []struct {
		name string
		mask cpu.Mask
		want []float32
	}{
		{"forward/causal", cpu.Mask{Kind: cpu.Causal}, want},
		{"forward/block-causal", cpu.Mask{Kind: cpu.BlockCausal, Block: g.Block}, g.BlockLog.values(t)},
	} {
		t.Run(fw.name, func(t *testing.T) {
			toks := slices.Concat(g.InputIDs, g.Generated[:len(g.Generated)-1])
			s := model.Seq{Tokens: toks, Mask: fw.mask, LogitRows: g.LogitPos,
				Logits: make([]float32, len(g.LogitPos)*V), Rope: rope,
				Embeds: []model.Embedding{{Pos: start, Rows: feats}}}
			if err := eng.Model.Forward(&model.Batch{Seqs: []model.Seq{s}}); err != nil {
				t.Fatal(err)
			}
			worst, worstAt := 0.0, 0
			for i, p := range g.LogitPos {
				rel, _ := relDiff(s.Logits[i*V:(i+1)*V], fw.want[i*V:(i+1)*V])
				if rel > worst {
					worst, worstAt = rel, p
				}
			}
			_, scale := relDiff(s.Logits, fw.want)
			t.Logf("%d positions (image rows at [%d, %d), prompt %d): max |diff| %.2e of max |logit| %.2f (worst at %d)",
				len(g.LogitPos), start, start+f.N, len(g.InputIDs), worst, scale, worstAt)
			if worst > tol {
				t.Errorf("logits differ by %.3g of their scale > %g", worst, tol)
			}
		})
	}

	t.Run("autoregressive", func(t *testing.T) {
		rec := &logitRecorder{rows: map[int][]float32{}}
		res, err := eng.Generate(context.Background(), engine.Request{Tokens: g.InputIDs, Positions: rope.IDs,
			Media: []engine.Media{{Token: int32(f.TokenID), Rows: feats}}, MaxNewTokens: len(g.Generated),
			Autoregressive: true, Constraint: rec})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.TokenIDs, g.Generated) {
			t.Errorf("tokens %v, transformers %v (margins %v)", res.TokenIDs, g.Generated, g.Margins)
		}
		worst := 0.0
		for k := range g.Generated {
			i := slices.Index(g.LogitPos, len(g.InputIDs)-1+k) // the row that predicts generated token k
			got := rec.rows[k]
			if i < 0 || got == nil {
				t.Fatalf("generated position %d: no logits (golden row %d)", k, i)
			}
			rel, _ := relDiff(got, want[i*V:(i+1)*V])
			worst = max(worst, rel)
		}
		t.Logf("%d tokens in %d forwards; decoded-from logits: max |diff| %.2e of scale", res.Tokens, res.Forwards, worst)
		if worst > tol {
			t.Errorf("decoding logits differ by %.3g of their scale > %g", worst, tol)
		}
	})

	t.Run("caption", func(t *testing.T) {
		cp, err := c.Caption(context.Background(), img, CaptionOptions{Prompt: g.Prompt, MaxNewTokens: len(g.Generated), Autoregressive: true})
		if err != nil {
			t.Fatal(err)
		}
		if want := eng.Tok.Decode(g.Generated, true); cp.Text != strings.TrimSpace(want) {
			t.Errorf("caption %q, transformers' greedy continuation %q", cp.Text, want)
		}
		if cp.ImageTokens != f.N || cp.PromptTokens != len(g.InputIDs) {
			t.Errorf("caption: %d image tokens, %d prompt tokens; want %d, %d", cp.ImageTokens, cp.PromptTokens, f.N, len(g.InputIDs))
		}
	})
}

// Block decoding on the M-RoPE model gives the same captions with and
// without the prefix cache: the second prompt on an image reuses the
// blocks through the image, a repeated prompt all its whole blocks.
func TestQwenPrefixCache(t *testing.T) {
	dir := filepath.Join(modelsDir, "tiny-qwen25vl")
	cached := tinyQwenEngine(t)
	plain, err := engine.New(dir, engine.Options{PrefixCache: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	cc, err := For(cached)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewCaptioner(plain)
	if err != nil {
		t.Fatal(err)
	}
	img := goldenImage(t, "tall-90x300.png")
	steps := []struct {
		name   string
		opts   CaptionOptions
		reused bool
	}{
		{"first prompt", CaptionOptions{Prompt: "What is in the picture?"}, false},
		{"second prompt, same image", CaptionOptions{Prompt: "Describe the image."}, true},
		{"first prompt again", CaptionOptions{Prompt: "What is in the picture?"}, true},
		{"threshold policy", CaptionOptions{Prompt: "Describe the image.", Policy: decode.Threshold{Tau: 0.02}}, true},
	}
	before := cached.PrefixStats().RowsReused
	for _, st := range steps {
		st.opts.MaxNewTokens = 16
		got, err := cc.Caption(context.Background(), img, st.opts)
		if err != nil {
			t.Fatal(err)
		}
		want, err := pc.Caption(context.Background(), img, st.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != want.Text || got.Tokens != want.Tokens {
			t.Errorf("%s: %q (%d tokens) with the prefix cache, %q (%d) without", st.name, got.Text, got.Tokens, want.Text, want.Tokens)
		}
		if reused := got.CachedRows > 0; reused != st.reused || want.CachedRows != 0 {
			t.Errorf("%s: %d cached rows (without the cache %d), want reuse %v", st.name, got.CachedRows, want.CachedRows, st.reused)
		}
		t.Logf("%s: %q, %d tokens in %d forwards, %d of %d prompt rows cached", st.name, got.Text, got.Tokens, got.Forwards, got.CachedRows, got.PromptTokens)
	}
	if cached.PrefixStats().RowsReused == before {
		t.Error("the prefix cache reused nothing")
	}
}

// flatQwenCheckpoint copies tiny-qwen25vl into the layout the Hub keeps for
// Qwen2.5-VL checkpoints saved before transformers 4.52 (Qwen2.5-VL-3B and
// the dVLMs converted from it): the language model's fields at the top of
// config.json (rope_scaling of type "mrope"), tensors at model.*, visual.*
// and lm_head.*.
func flatQwenCheckpoint(t *testing.T) string {
	t.Helper()
	src, dst := filepath.Join(modelsDir, "tiny-qwen25vl"), t.TempDir()
	for _, name := range []string{"generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	text := c["text_config"].(map[string]any)
	delete(c, "text_config")
	for k, v := range text {
		if k != "model_type" && k != "rope_parameters" {
			c[k] = v
		}
	}
	rp := text["rope_parameters"].(map[string]any)
	c["rope_theta"], c["rope_scaling"] = rp["rope_theta"], map[string]any{"type": "mrope", "mrope_section": rp["mrope_section"]}
	if b, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts := map[string]safetensors.Tensor{}
	for _, n := range f.Names() {
		data, _ := f.Bytes(n)
		name := strings.Replace(strings.Replace(n, "model.language_model.", "model.", 1), "model.visual.", "visual.", 1)
		ts[name] = safetensors.Tensor{DType: f.Info(n).DType, Shape: f.Info(n).Shape, Data: data}
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "model.safetensors"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// A checkpoint in the flat pre-4.52 layout captions exactly like the same
// weights in transformers 5's layout.
func TestQwenFlatLayout(t *testing.T) {
	flat, err := engine.New(flatQwenCheckpoint(t), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer flat.Close()
	fc, err := NewCaptioner(flat)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := For(tinyQwenEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	img := goldenImage(t, "wide-500x120.png")
	opts := CaptionOptions{MaxNewTokens: 8}
	got, err := fc.Caption(context.Background(), img, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := rc.Caption(context.Background(), img, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text || got.ImageTokens != want.ImageTokens || got.PromptTokens != want.PromptTokens {
		t.Errorf("flat layout: %q (%d image tokens), text_config layout: %q (%d)", got.Text, got.ImageTokens, want.Text, want.ImageTokens)
	}
}
