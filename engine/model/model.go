// Package model defines what the engine asks of a language model, the
// registry of architectures (filled by the architecture packages' init), and
// the loader for Hugging Face checkpoint directories: config.json,
// generation_config.json, model.safetensors or shards with
// model.safetensors.index.json. Pickle checkpoints are never loaded.
package model

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"dlmstream/engine/kvcache"
	"dlmstream/kernels/cpu"
)

// Model runs forward passes. Implementations are safe for concurrent
// Forward calls on different caches.
type Model interface {
	Config() *Config
	Traits() Traits
	// Forward runs every sequence of the batch through the network once. The
	// rows of all sequences are stacked for the matrix multiplies; attention
	// is per sequence under its own mask and cache.
	Forward(b *Batch) error
	// NewPool returns a KV cache pool shaped for this model, in the storage
	// its kernels expect (bf16 pages on the fast path, fp32 on the exact
	// one), with a byte budget (0 = unlimited). Forward takes sequences of
	// any pool of the model's shape, fp32 or bf16.
	NewPool(budget int64) *kvcache.Pool
	// WeightBytes is the bytes of weights one full forward reads.
	WeightBytes() int64
	Close() error
}

// Traits are the decoding-relevant facts of an architecture.
type Traits struct {
	// QKNorm: per-head RMSNorm on q and k before RoPE (Qwen3, SDAR).
	QKNorm bool
	// Shifted: logits at row i predict the token at i+1 (Fast-dLLM v2, Dream);
	// unshifted models (SDAR, LLaDA) predict the token at row i itself.
	Shifted bool
	// Mask is the attention mask the model was trained with at inference.
	Mask cpu.Mask
	// Diffusion is true for block-diffusion checkpoints (block size and mask id set).
	Diffusion bool
}

// Seq is one sequence's share of a Batch.
//
// Tokens occupy absolute positions [Pos, Pos+len(Tokens)). The cache must
// hold committed K/V for [0, Pos). Forward writes the K/V of Tokens into the
// cache rows [Pos, Pos+n) as scratch; with Store they become committed
// (Cache.Len() = Pos+n), otherwise the committed length is unchanged and the
// next forward may overwrite them. Queries see keys [0, KeyLen) under Mask;
// KeyLen 0 means Pos+n. KeyLen > Pos+n reads scratch rows that an earlier
// forward left in the cache (Fast-dLLM v2 sub-block reuse, dual caches).
type Seq struct {
	Tokens []int32
	Pos    int
	KeyLen int
	Mask   cpu.Mask
	Cache  *kvcache.Sequence
	Store  bool
	// LogitRows selects which rows of Tokens get logits (ascending or not);
	// Logits receives them: [len(LogitRows), vocab_size]. Rows not listed
	// never pay for the LM head.
	LogitRows []int
	Logits    []float32
	// Summaries, when set, receive each logit row's greedy summary instead
	// ([len(LogitRows)] RowStat of the row with entry Exclude taken as -Inf;
	// Exclude -1 for none) and Logits may be nil: a device backend then
	// sends 20 bytes per row to the host instead of the vocabulary.
	Summaries []RowStat
	Exclude   int32
	// Embeds replace the token embeddings of the rows whose absolute
	// position falls inside one of them: media prefixes (audio or image
	// features at their placeholder tokens). The same list may be passed
	// with every forward of a sequence; rows outside [Pos, Pos+n) are
	// ignored.
	Embeds []Embedding
	// Rope, if set, are the sequence's M-RoPE position ids: row i rotates by
	// Rope.At(Pos+i) instead of Pos+i (models whose Config has MRopeSection;
	// others take only Linear ones: 1-D ids, e.g. a pruned prompt's rows at
	// their original positions). The cache row, the mask and KeyLen still
	// use absolute positions. The same value may be passed with every forward.
	Rope *Positions
	// Flash, if set, runs the sequence's rows at positions >= Flash.Start
	// with FlashBlock's cached block-external attention (see FlashState);
	// models that implement FlashBlocker take it, others refuse it.
	Flash *FlashState
}

// FlashBlocker is a model whose Forward takes Seq.Flash (FlashBlock).
type FlashBlocker interface {
	FlashBlock() bool
}

// TokenEmbedder is a model whose input embedding table can be read: soft
// inputs (decode.IterSmooth) mix its rows.
type TokenEmbedder interface {
	// EmbedRow writes token tok's input embedding into dst [HiddenSize].
	EmbedRow(tok int32, dst []float32)
	HiddenSize() int
}

// Embedding is a run of input embeddings at absolute positions
// [Pos, Pos+len(Rows)/hidden_size).
type Embedding struct {
	Pos  int
	Rows []float32 // [n, hidden_size]
}

// Batch is the input of one forward pass.
type Batch struct {
	Seqs []Seq
	// Hidden, if set, is called with each sequence's hidden states
	// [n, hidden_size] after the embedding (layer 0) and after every decoder
	// layer (1..L; the last one before the final norm). For debugging and
	// golden tests.
	Hidden func(seq, layer int, h []float32)
}

// Arch is a registered architecture.
type Arch struct {
	// DefaultBias is whether q/k/v projections carry biases when config.json
	// has no attention_bias field (true for Qwen2, false for Qwen3).
	DefaultBias bool
	// New builds the model from a validated config and open weights.
	New func(cfg *Config, w *Weights, opts LoadOptions) (Model, error)
}

var (
	regMu sync.RWMutex
	archs = map[string]Arch{}
)

// Register makes an architecture loadable under a config.json model_type.
// It panics on a duplicate name (a programming error caught at init).
func Register(modelType string, a Arch) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := archs[modelType]; dup {
		panic("model: duplicate architecture " + modelType)
	}
	archs[modelType] = a
}

func lookupArch(modelType string) (Arch, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	a, ok := archs[modelType]
	return a, ok
}

func archNames() string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none registered; import dlmstream/engine/model/qwen"
	}
	return strings.Join(names, ", ")
}

// LoadOptions tune how weights are held in memory.
type LoadOptions struct {
	// WeightType converts the linear layers' weights at load time:
	// "" keeps the checkpoint dtype (fp16 is widened to fp32), "bf16" rounds
	// to bf16, "int8" quantizes with one scale per output row.
	WeightType string
	// Exact keeps bf16 weights unpacked, so every matmul widens them to fp32
	// on the exact kernels even where the active kernels prefer packed
	// weights with bf16-rounded activations (cpu.PreferPacked: PyTorch's bf16
	// numerics, about twice as fast). Parity tests against fp32 references
	// load with it.
	Exact bool
	// Progress, if set, is called as tensors are read: bytes done of total.
	Progress func(done, total int64)
}

// Load opens a checkpoint directory and builds its model.
func Load(dir string, opts LoadOptions) (Model, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	switch opts.WeightType {
	case "", "bf16", "int8", "f32":
	default:
		return nil, fmt.Errorf("unknown weight type %q (want bf16, int8, f32 or empty)", opts.WeightType)
	}
	w, err := OpenWeightsWith(dir, opts)
	if err != nil {
		return nil, err
	}
	// Before anything is sized by the config: a config claiming more
	// weights than the files hold is refused, not allocated for.
	if err := cfg.checkWeightBytes(w.total); err != nil {
		w.Close()
		return nil, err
	}
	lm, err := languageModelWeights(cfg, w, opts)
	if err != nil {
		w.Close()
		return nil, err
	}
	a, _ := lookupArch(cfg.ModelType)
	m, err := a.New(cfg, lm, opts)
	if err != nil {
		w.Close()
		return nil, err
	}
	return m, nil
}

// languageModelWeights is the view of a checkpoint's weights under the
// language model's own names. A composite checkpoint stores them either
// under "language_model." (LLaVA-style layouts, demo-speech, demo-vision)
// or, as transformers >= 4.52 writes them, under "model.language_model."
// with the head at "lm_head."; the view owns the files, so closing the
// model closes them. Qwen2.5-VL checkpoints saved before 4.52 keep the
// stock names ("model.*", "lm_head.*", the tower at "visual.*").
func languageModelWeights(cfg *Config, w *Weights, opts LoadOptions) (*Weights, error) {
	if cfg.Composite == "" {
		return w, nil
	}
	var lm *Weights
	switch {
	case w.Has("language_model.model.embed_tokens.weight"):
		lm = w.View("language_model.", opts)
	case w.Has("model.language_model.embed_tokens.weight"):
		lm = w.Renamed(func(n string) string {
			if rest, ok := strings.CutPrefix(n, "model."); ok {
				return "model.language_model." + rest
			}
			return n
		}, opts)
	case w.Has("model.embed_tokens.weight"):
		return w, nil
	default:
		return nil, fmt.Errorf("%s: %s checkpoint without language model weights (want language_model.model.*, model.language_model.* or model.*)", w.Dir, cfg.Composite)
	}
	lm.view, lm.owner = false, w
	return lm, nil
}
