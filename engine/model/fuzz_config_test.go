package model_test

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// FuzzConfig parses and validates config.json bodies. It never panics; an
// error names the file; an accepted config has every size within its
// limit, heads that divide, finite positive rope_theta and rms_norm_eps,
// a mask token inside the vocabulary and a parameter count that fits 64
// bits, re-validates, parses the same twice, and builds its RoPE table.
func FuzzConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := model.ParseConfig("config.json", body)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		for _, s := range []struct {
			field     string
			v, lo, hi int
		}{
			{"hidden_size", c.HiddenSize, 1, model.MaxHiddenSize},
			{"num_hidden_layers", c.NumLayers, 1, model.MaxLayers},
			{"num_attention_heads", c.NumHeads, 1, model.MaxHeads},
			{"num_key_value_heads", c.NumKVHeads, 1, c.NumHeads},
			{"head_dim", c.HeadDim, 2, model.MaxHeadDim},
			{"intermediate_size", c.IntermediateSize, 1, model.MaxIntermediateSize},
			{"vocab_size", c.VocabSize, 1, model.MaxVocabSize},
			{"max_position_embeddings", c.MaxPositionEmbeddings, 0, model.MaxPositions},
			{"block_size", c.BlockSize, 0, model.MaxBlockSize},
		} {
			if s.v < s.lo || s.v > s.hi {
				t.Fatalf("accepted %s %d outside [%d, %d]", s.field, s.v, s.lo, s.hi)
			}
		}
		if c.NumHeads%c.NumKVHeads != 0 || c.HeadDim%2 != 0 {
			t.Fatalf("accepted %d heads, %d KV heads, head_dim %d", c.NumHeads, c.NumKVHeads, c.HeadDim)
		}
		if math.IsNaN(c.RopeTheta) || c.RopeTheta <= 0 || c.RopeTheta > math.MaxFloat32 || math.IsNaN(c.RMSNormEps) || c.RMSNormEps <= 0 || c.RMSNormEps > 1 {
			t.Fatalf("accepted rope_theta %v, rms_norm_eps %v", c.RopeTheta, c.RMSNormEps)
		}
		if c.MaskTokenID != nil && (*c.MaskTokenID < 0 || *c.MaskTokenID >= c.VocabSize) {
			t.Fatalf("accepted mask_token_id %d with vocab_size %d", *c.MaskTokenID, c.VocabSize)
		}
		if c.AttentionBias == nil || (c.Composite != "" && len(c.Raw) == 0) {
			t.Fatalf("attention_bias %v, composite %q with %d raw bytes", c.AttentionBias, c.Composite, len(c.Raw))
		}
		if s := c.MRopeSection; s != nil && (len(s) != 3 || s[0] < 0 || s[1] < 0 || s[2] < 0 || s[0]+s[1]+s[2] != c.HeadDim/2) {
			t.Fatalf("accepted mrope_section %v with head_dim %d", s, c.HeadDim)
		}
		if n, err := c.DecoderParams(); err != nil || n <= 0 {
			t.Fatalf("DecoderParams = %d, %v", n, err)
		}
		again, err := model.ParseConfig("config.json", body)
		if err != nil || !reflect.DeepEqual(c, again) {
			t.Fatalf("second parse differs: %v", err)
		}
		cpu.NewRoPE(c.HeadDim, c.RopeTheta) // sized by the validated head_dim; panics on a bad one
	})
}

// configSeed is one FuzzConfig seed and the outcome it must have.
type configSeed struct {
	name string
	body []byte
	want string // substring of the error; "" for a valid config
}

// configSeeds are the fuzz seeds: every config.json under testdata/models
// (the encoder-only ones are not language models) and the refused bodies
// of TestParseConfigErrors.
func configSeeds(t *testing.T) []configSeed {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("..", "..", "testdata", "models", "*", "config.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no configs under testdata/models: %v", err)
	}
	var seeds []configSeed
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := configSeed{name: "model-" + filepath.Base(filepath.Dir(p)), body: b}
		if strings.HasPrefix(filepath.Base(filepath.Dir(p)), "tiny-whisper") {
			s.want = "unknown architecture"
		}
		seeds = append(seeds, s)
	}
	for _, h := range model.HostileConfigs() {
		seeds = append(seeds, configSeed{strings.ReplaceAll(h.Name, " ", "-"), []byte(h.Body), h.Want})
	}
	return append(seeds,
		configSeed{"composite-absurd-text-config", []byte(`{"model_type": "dlm_asr", "text_config": {"model_type": "sdar", "hidden_size": 64, "num_hidden_layers": 4000000, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100}}`), "num_hidden_layers 4000000 exceeds the limit of 1024"},
		configSeed{"qwen25vl-flat-negative-theta", []byte(`{"model_type": "qwen2_5_vl", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 100, "rope_theta": -1}`), "rope_theta must be positive"},
		configSeed{"not-an-object", []byte(`[]`), "cannot unmarshal array"},
	)
}

// The committed seeds of FuzzConfig are the table's, and each still has its
// outcome. go test -update rewrites them.
func TestFuzzConfigSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzConfig")
	for _, s := range configSeeds(t) {
		t.Run(s.name, func(t *testing.T) {
			_, err := model.ParseConfig("config.json", s.body)
			switch {
			case s.want == "" && err != nil:
				t.Errorf("valid seed rejected: %v", err)
			case s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)):
				t.Errorf("err = %v, want one containing %q", err, s.want)
			}
			file := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s.body)
			p := filepath.Join(dir, s.name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, file, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if b, err := os.ReadFile(p); err != nil || string(b) != string(file) {
				t.Errorf("%s is missing or stale (err %v): run go test -run TestFuzzConfigSeeds -update", p, err)
			}
		})
	}
}

// Every language-model checkpoint under testdata/models still loads.
func TestLoadRepositoryCheckpoints(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "models", "*"))
	loaded := 0
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if strings.HasPrefix(filepath.Base(dir), "tiny-whisper") {
				t.Skip("speech encoder only")
			}
			m, err := model.Load(dir, model.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			loaded++
			m.Close()
		})
	}
	if loaded < 10 {
		t.Errorf("loaded %d checkpoints, want every language model under testdata/models", loaded)
	}
}
