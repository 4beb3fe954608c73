package vision

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

// DefaultPrompt is the instruction sent after the image when neither the
// checkpoint nor the caller names one.
const DefaultPrompt = "Describe the image."

// Captioner captions images with a vision checkpoint loaded in an engine:
// preprocessing, the vision tower and the projector run on the caller's
// goroutine; the language model decodes in the engine, batched with every
// other request. Safe for concurrent use.
type Captioner struct {
	eng    *engine.Engine
	tok    *tokenizer.Tokenizer
	Vision *Model
	prompt string
}

var (
	capMu sync.Mutex
	caps  = map[*engine.Engine]*Captioner{}
)

// For returns the engine's captioner, built on first use (the tower's
// tensors are read from the engine's memory map).
func For(eng *engine.Engine) (*Captioner, error) {
	capMu.Lock()
	defer capMu.Unlock()
	if c := caps[eng]; c != nil {
		return c, nil
	}
	c, err := NewCaptioner(eng)
	if err != nil {
		return nil, err
	}
	caps[eng] = c
	return c, nil
}

// NewCaptioner reads the vision side of the engine's checkpoint.
func NewCaptioner(eng *engine.Engine) (*Captioner, error) {
	if eng.Dir == "" || eng.Tok == nil {
		return nil, fmt.Errorf("vision: the engine has no checkpoint directory or tokenizer")
	}
	w := eng.Weights()
	if w == nil {
		return nil, fmt.Errorf("vision: %s: the engine's model holds no checkpoint weights", eng.Dir)
	}
	m, err := LoadFrom(eng.Dir, w)
	if err != nil {
		return nil, err
	}
	c := &Captioner{eng: eng, tok: eng.Tok, Vision: m, prompt: DefaultPrompt}
	if p, ok := checkpointPrompt(eng.Dir); ok {
		c.prompt = p
	}
	return c, nil
}

var promptRE = regexp.MustCompile(`\*N(.*?)<\|im_end\|>`)

// checkpointPrompt reads the instruction from a checkpoint's documented
// prompt (demo-vision: dlmstream_image_features.prompt).
func checkpointPrompt(dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return "", false
	}
	var cfg struct {
		Features struct {
			Prompt string `json:"prompt"`
		} `json:"dlmstream_image_features"`
	}
	if json.Unmarshal(b, &cfg) != nil {
		return "", false
	}
	m := promptRE.FindStringSubmatch(cfg.Features.Prompt)
	if m == nil || strings.TrimSpace(m[1]) == "" {
		return "", false
	}
	return m[1], true
}

// CaptionOptions tune one caption. The zero value works: the checkpoint's
// instruction, one token per step (the most accurate block decoding).
type CaptionOptions struct {
	// Prompt replaces the checkpoint's instruction after the image.
	Prompt string
	// Policy chooses positions to commit per step (default one token per
	// step; decode.Threshold{Tau: 0.9} trades accuracy for forwards).
	Policy decode.Policy
	// Autoregressive decodes with block size 1 on the same weights.
	Autoregressive bool
	// FlashBlock reuses each block's attention over the image, the prompt
	// and the committed blocks across its steps (approximate; engine.
	// Request.FlashBlock): block-causal models on the CPU backend.
	FlashBlock bool
	// MaxNewTokens bounds the caption (default 64).
	MaxNewTokens int
	// Stream, if set, receives each committed block's text as it becomes final.
	Stream func(text string)
	// KeepImageTokens, in (0, 1), prunes the image's content rows to that
	// share (at least one; layout rows such as image_newline stay) before
	// the language model: KeepDiverse picks them, and they keep their
	// original positions (RoPE ids; the text after the image too), so the
	// model sees the same layout with redundant rows left out. 0 or 1
	// keeps every row.
	KeepImageTokens float64
}

// Caption is one image's caption and what it cost.
type Caption struct {
	Text        string
	Tokens      int // language-model tokens, the stop token included
	Forwards    int // language-model forwards
	MinForwards int // the fewest any policy could take for this caption (engine.Result.Blocks)
	ImageTokens int // placeholder rows the image took (after pruning)
	ImageRows   int // rows the tower gave the image (before pruning)
	// PromptTokens is the prompt's length; CachedRows of it came from the
	// engine's prefix cache instead of being prefilled (a retry, another
	// prompt on the same image).
	PromptTokens, CachedRows int
	Tower                    time.Duration
	Decode                   time.Duration
}

// CaptionImage captions img with the vision checkpoint loaded in eng.
func CaptionImage(ctx context.Context, eng *engine.Engine, img image.Image, opts CaptionOptions) (Caption, error) {
	c, err := For(eng)
	if err != nil {
		return Caption{}, err
	}
	return c.Caption(ctx, img, opts)
}

// Caption captions one image.
func (c *Captioner) Caption(ctx context.Context, img image.Image, opts CaptionOptions) (Caption, error) {
	t0 := time.Now()
	f, err := c.Vision.Encode(img)
	if err != nil {
		return Caption{}, err
	}
	tower := time.Since(t0)
	req, err := c.request(f, opts)
	if err != nil {
		return Caption{}, err
	}
	res, err := c.eng.Generate(ctx, req)
	if err != nil {
		return Caption{}, err
	}
	return Caption{Text: strings.TrimSpace(res.Text), Tokens: res.Tokens, Forwards: res.Forwards, MinForwards: res.Blocks, ImageTokens: len(req.Media[0].Rows) / f.Hidden, ImageRows: f.N,
		PromptTokens: res.PromptTokens, CachedRows: res.CachedRows, Tower: tower, Decode: time.Since(t0) - tower}, nil
}

// request builds the engine request for an image's features: the user turn
// holds the image's placeholders, then the instruction (the Qwen2.5-VL
// processor's expansion of its chat template's <|vision_start|><|image_pad|>
// <|vision_end|>, or LLaVA-OneVision's image tokens). A Qwen2.5-VL prompt is
// tokenized here, as the engine would, because its language model reads the
// prompt's M-RoPE position ids (RopeIndex) along with the merger rows.
func (c *Captioner) request(f *Features, opts CaptionOptions) (engine.Request, error) {
	var sb strings.Builder
	for _, id := range f.Placeholders() {
		sb.WriteString(c.tok.Token(int32(id)))
	}
	prompt := opts.Prompt
	if prompt == "" {
		prompt = c.prompt
	}
	sb.WriteString(prompt)
	maxNew := opts.MaxNewTokens
	if maxNew <= 0 {
		maxNew = 64
	}
	policy := opts.Policy
	if policy == nil {
		policy = decode.Threshold{Tau: 2} // one token per step
	}
	req := engine.Request{
		Messages:       []tokenizer.Message{{Role: "user", Content: sb.String()}},
		Media:          []engine.Media{{Token: int32(f.TokenID), Rows: f.Rows}},
		MaxNewTokens:   maxNew,
		Policy:         policy,
		Autoregressive: opts.Autoregressive,
		FlashBlock:     opts.FlashBlock,
		Stream:         opts.Stream,
	}
	keep := opts.KeepImageTokens
	if keep < 0 || keep > 1 || math.IsNaN(keep) {
		return engine.Request{}, fmt.Errorf("vision: KeepImageTokens %g: want a share in [0, 1]", keep)
	}
	if f.Grid.T == 0 && (keep == 0 || keep == 1) {
		return req, nil
	}
	// The prompt as the engine would tokenize it, with its position ids:
	// M-RoPE's for Qwen2.5-VL (its language model reads them with the
	// merger rows), or 1-D ones that pruned rows keep.
	text, err := c.tok.ApplyChatTemplate(req.Messages, tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		return engine.Request{}, err
	}
	toks := c.tok.Encode(text)
	var pos [3][]int
	if f.Grid.T > 0 {
		q, ok := c.Vision.Encoder.(*QwenVision)
		if !ok {
			return engine.Request{}, fmt.Errorf("vision: %s: image grid features from a %T encoder, want the Qwen2.5-VL tower", c.eng.Dir, c.Vision.Encoder)
		}
		ids := make([]int, len(toks))
		for i, t := range toks {
			ids[i] = int(t)
		}
		if pos, _, err = RopeIndex(ids, f.TokenID, []GridTHW{f.Grid}, q.Cfg.SpatialMergeSize); err != nil {
			return engine.Request{}, fmt.Errorf("%s: %w", c.eng.Dir, err)
		}
	} else {
		for a := range pos {
			pos[a] = make([]int, len(toks))
			for i := range toks {
				pos[a][i] = i
			}
		}
	}
	req.Messages, req.Tokens, req.Positions = nil, toks, pos
	if keep == 0 || keep == 1 {
		return req, nil
	}
	content := f.N - len(f.Layout)
	return pruneImage(req, f, len(f.Layout)+max(1, int(math.Round(keep*float64(content)))))
}

// pruneImage keeps k of the image's rows in req (KeepDiverse, the layout
// rows pinned): the others' placeholders leave the prompt, their positions
// with them, so every row and token kept stays where it was.
func pruneImage(req engine.Request, f *Features, k int) (engine.Request, error) {
	kept, err := KeepDiverse(f.Rows, f.N, f.Hidden, k, f.Layout)
	if err != nil {
		return engine.Request{}, err
	}
	rows := make([]float32, 0, k*f.Hidden)
	for _, i := range kept {
		rows = append(rows, f.Row(i)...)
	}
	var toks []int32
	var pos [3][]int
	row, next := 0, 0 // image row of the next placeholder; index into kept
	for p, t := range req.Tokens {
		if int(t) == f.TokenID {
			drop := next >= len(kept) || kept[next] != row
			row++
			if drop {
				continue
			}
			next++
		}
		toks = append(toks, t)
		for a := range pos {
			pos[a] = append(pos[a], req.Positions[a][p])
		}
	}
	if row != f.N {
		return engine.Request{}, fmt.Errorf("vision: the prompt holds %d image placeholders, the image %d rows", row, f.N)
	}
	req.Tokens, req.Positions = toks, pos
	req.Media = []engine.Media{{Token: int32(f.TokenID), Rows: rows}}
	return req, nil
}
