package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"dlmstream/engine/decode"
)

// The engine runs tiny-llada (LLaDA's config keys and tensor names) with
// full-canvas decoding and reproduces LLaDA's reference outputs
// (testdata/golden/decode/tiny-llada.json) in each cache mode, up to the
// first stop id (the engine stops there; the reference decodes the whole
// canvas, whose earlier blocks do not depend on it).
func TestLLaDAEngine(t *testing.T) {
	root := filepath.Join("..", "testdata")
	e, err := New(filepath.Join(root, "models", "tiny-llada"), Options{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.arch.MaskID != 1571 || e.arch.Shifted {
		t.Fatalf("arch %+v: want mask 1571 (config mask_token_id, <|mdm_mask|>), unshifted", e.arch)
	}
	b, err := os.ReadFile(filepath.Join(root, "golden", "decode", "tiny-llada.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Name, Cache    string
			Prompt, Output []int32
			GenLength      int `json:"gen_length"`
			BlockLength    int `json:"block_length"`
			Policy         struct {
				Kind  string
				Steps int
			}
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	caches := map[string]decode.CacheKind{"none": decode.NoCanvasCache, "prefix": decode.PrefixCache, "dual": decode.DualCache}
	ran := 0
	for _, c := range g.Cases {
		if c.Policy.Kind != "static" || c.BlockLength != 8 || c.Policy.Steps != 8 {
			continue // one token per step, blocks of 8: one case per prompt and cache
		}
		t.Run(c.Name, func(t *testing.T) {
			res, err := e.Generate(context.Background(), Request{Tokens: c.Prompt, MaxNewTokens: c.GenLength,
				Policy: decode.StaticTopK{Steps: c.Policy.Steps}, Canvas: decode.CanvasParams{BlockLen: c.BlockLength, Cache: caches[c.Cache]}})
			if err != nil {
				t.Fatal(err)
			}
			want := c.Output
			if i := slices.IndexFunc(want, func(id int32) bool { return slices.Contains(e.stop, id) }); i >= 0 {
				want = want[:i+1]
			}
			if !slices.Equal(res.TokenIDs, want) {
				t.Fatalf("engine output differs from LLaDA's reference:\n got %v\nwant %v", res.TokenIDs, want)
			}
		})
		ran++
	}
	if ran != 9 {
		t.Fatalf("ran %d cases, want 9", ran)
	}
}

// A llada config without mask_token_id whose vocabulary is too small for
// LLaDA's 126336 takes the tokenizer's <|mdm_mask|>.
func TestLLaDAMaskFromTokenizer(t *testing.T) {
	src, dir := filepath.Join("..", "testdata", "models", "tiny-llada"), t.TempDir()
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "config.json" {
			var cfg map[string]any
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatal(err)
			}
			delete(cfg, "mask_token_id")
			if b, err = json.Marshal(cfg); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(dir, Options{Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Model.Config().MaskTokenID != nil || e.arch.MaskID != 1571 {
		t.Fatalf("config mask %v, arch mask %d: want none and <|mdm_mask|> = 1571", e.Model.Config().MaskTokenID, e.arch.MaskID)
	}
}
