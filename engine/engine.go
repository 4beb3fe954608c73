// Package engine serves generation requests from many goroutines on one
// loaded model: requests are tokenized, admitted by the scheduler within a
// KV memory budget, and decoded together, one batched forward per step, by
// a single loop goroutine. Committed blocks stream back as soon as they are
// final. One engine per process and model directory (Shared) serves every
// Beam DoFn instance of a worker.
package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"dlmstream/engine/decode"
	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	_ "dlmstream/engine/model/qwen" // registers the Qwen family
	"dlmstream/engine/sched"
	"dlmstream/engine/tokenizer"
	"dlmstream/kernels/cpu"
)

// ErrBusy is returned by Generate when the engine's bounded queue is full.
var ErrBusy = sched.ErrBusy

// Options configure an engine. The zero value works.
type Options struct {
	// WeightType converts weights at load: "", "bf16", "int8" (see model.LoadOptions).
	WeightType string
	// Backend is where the model's forward runs: "cpu" (default), "cuda"
	// or "auto" (CUDA where a device is usable, else CPU; see BackendAuto).
	// The scheduler, policies and schema constraints are the same on both.
	Backend string
	// Exact keeps the model on the exact fp32-widening kernels where the
	// active kernels would pack bf16 weights and round activations to bf16
	// (see model.LoadOptions.Exact).
	Exact bool
	// MaxQueue bounds requests waiting for admission (default 64).
	MaxQueue int
	// MaxRunning bounds sequences decoded together (default 16).
	MaxRunning int
	// KVBudget bounds the KV cache of all running requests, in bytes
	// (default 1 GiB).
	KVBudget int64
	// MaxRows bounds the token rows of one forward (activations; default 512).
	MaxRows int
	// MaxLogitRows bounds the rows per forward that get vocabulary logits
	// (default 128): logits are computed only for masked positions.
	MaxLogitRows int
	// Progress reports checkpoint loading (see model.LoadOptions).
	Progress func(done, total int64)
	// PrefixCache bounds the bytes of shared prompt prefixes kept for reuse
	// (an image's prefix across prompts, retries, repeated system prompts),
	// taken from KVBudget: default KVBudget/8, negative disables it.
	PrefixCache int64
}

// Request is one generation.
type Request struct {
	ID string
	// Messages are chat turns rendered with the tokenizer's chat template
	// (with the generation prompt); if empty, Prompt is used as raw text,
	// and if that is empty too, Tokens as token ids.
	Messages []tokenizer.Message
	Prompt   string
	Tokens   []int32
	// MaxNewTokens bounds the output (default 128).
	MaxNewTokens int
	// Policy chooses positions to commit per step (default: the model's
	// one-token-per-step static schedule). Stateful policies are copied per
	// request.
	Policy   decode.Policy
	Sampling decode.Sampling
	// Autoregressive decodes with block size 1 on the same weights (the
	// baseline every speed claim is measured against).
	Autoregressive bool
	// SubBlock and BlockCache tune Fast-dLLM v2 decoding (see decode.Params).
	SubBlock   int
	BlockCache bool
	// FlashBlock reuses each block's attention over the committed prefix
	// across its denoising steps (approximate; see decode.Params.FlashBlock).
	// Block-causal models on the CPU backend only. Its cache, one block's
	// layers × rows × heads × (head_dim+1) floats per running request, is
	// charged against KVBudget with the request's KV pages (FlashBytes).
	FlashBlock bool
	// Canvas tunes full-canvas decoding of bidirectional models (Dream, LLaDA):
	// semi-autoregressive block length, prefix/dual cache, refresh period.
	Canvas decode.CanvasParams
	// Template and Constraint fix parts of the output and restrict the rest
	// (schema scaffolds; see decode.Params). With a Template, stop ids do not
	// end generation: the output is exactly the template's length.
	Template   []int32
	Constraint decode.Constraint
	// Stream, if set, receives the text of each committed block as soon as
	// it is final (UTF-8 sequences split across blocks are held back).
	Stream func(text string)
	// Media are embedding rows (audio or image features, already projected
	// to the language model's hidden size) that replace the embeddings of
	// placeholder tokens in the prompt, in order: the rows of Media[0] go to
	// the first len(Rows)/hidden occurrences of its Token, and so on, as
	// transformers' masked_scatter does. Every placeholder must be covered.
	// The rows are prefilled with the prompt like any token.
	Media []Media
	// Positions are the prompt's multimodal rotary position ids
	// (temporal, height, width) [3][len(prompt)], for models with M-RoPE
	// (Qwen2.5-VL language models: Fast-dVLM, DiffusionVL), as
	// transformers' get_rope_index gives them (vision.RopeIndex): image rows
	// at their grid coordinates, text on all three axes. Generated tokens
	// continue at max(Positions)+1 on all three. Zero (nil slices): 1-D
	// positions, the same ids on all three axes, which is what a text-only
	// prompt has.
	Positions [3][]int
}

// Media is a run of input embeddings standing at placeholder tokens.
type Media struct {
	Token int32     // placeholder id (<|audio_pad|>, <|image_pad|>)
	Rows  []float32 // [n, hidden_size]
}

// Result is a finished generation.
type Result struct {
	ID       string
	Text     string
	TokenIDs []int32
	Tokens   int // generated tokens
	Forwards int // forward passes this request took part in
	// Blocks is the blocks a denoising step was taken in, on block-causal
	// models (decode.BlockCounter; 0 elsewhere): the fewest forwards any
	// policy could take for this output.
	Blocks  int
	Elapsed time.Duration
	// PromptTokens is the prompt's length; CachedRows of its positions were
	// reused from the prefix cache instead of prefilled.
	PromptTokens, CachedRows int
}

// Engine is a loaded model with its scheduler loop.
type Engine struct {
	Model model.Model
	Tok   *tokenizer.Tokenizer
	// Dir is the checkpoint directory (empty for NewWithModel).
	Dir  string
	arch decode.Arch
	stop []int32
	sch  *sched.Scheduler
	pool *kvcache.Pool
	pc   *prefixCache // nil: disabled
	// maxRunning is Options.MaxRunning with its default.
	maxRunning int
	quit       chan struct{}
	stats      statsBox
	meter      meters
	wg         sync.WaitGroup
	once       sync.Once
}

// New loads dir and starts the engine's loop.
func New(dir string, opts Options) (*Engine, error) {
	if err := checkBackend(opts.Backend); err != nil {
		return nil, err
	}
	// A model headed for the device keeps the checkpoint's bits unpacked:
	// the upload reads them, and packing them for the CPU would be wasted.
	backend := resolveBackend(opts.Backend)
	exact := opts.Exact || backend != BackendCPU
	hm, err := model.Load(dir, model.LoadOptions{WeightType: opts.WeightType, Exact: exact, Progress: opts.Progress})
	if err != nil {
		return nil, err
	}
	m, err := onBackend(hm, backend)
	if err != nil {
		hm.Close()
		return nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		m.Close()
		return nil, err
	}
	gen, err := model.LoadGenerationConfig(dir)
	if err != nil {
		m.Close()
		return nil, err
	}
	e, err := NewWithModel(m, tok, opts)
	if err != nil {
		m.Close()
		return nil, err
	}
	e.Dir = dir
	for _, id := range slices.Concat(gen.EOSTokenID, []int(m.Config().EOSTokenID)) {
		if !slices.Contains(e.stop, int32(id)) {
			e.stop = append(e.stop, int32(id))
		}
	}
	return e, nil
}

// NewWithModel starts an engine on an already built model (random-weight
// benchmarks, tests). tok may be nil when requests carry token ids.
func NewWithModel(m model.Model, tok *tokenizer.Tokenizer, opts Options) (*Engine, error) {
	mask := int32(-1)
	if tok != nil {
		// SDAR, Fast-dLLM v2, Dream-style spellings; LLaDA's <|mdm_mask|>
		// (126336; llada configs carry mask_token_id, which wins).
		for _, name := range []string{"<|MASK|>", "|<MASK>|", "<|mask|>", "<mask>", "<|mdm_mask|>"} {
			if id, ok := tok.TokenID(name); ok {
				mask = id
				break
			}
		}
	}
	arch, err := decode.ArchOf(m, mask, false)
	if err != nil {
		return nil, err
	}
	if opts.KVBudget <= 0 {
		opts.KVBudget = 1 << 30
	}
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = 16 // the scheduler's default
	}
	pool := m.NewPool(opts.KVBudget)
	if opts.PrefixCache == 0 {
		opts.PrefixCache = opts.KVBudget / 8
	}
	var pc *prefixCache
	if opts.PrefixCache > 0 && m.Traits().Mask.Kind != cpu.Bidirectional {
		pc = newPrefixCache(opts.PrefixCache)
	}
	e := &Engine{
		Model: m, Tok: tok, arch: arch, pool: pool, pc: pc, quit: make(chan struct{}), meter: newMeters(), maxRunning: opts.MaxRunning,
		sch: sched.New(pool, sched.Limits{MaxQueue: opts.MaxQueue, MaxRunning: opts.MaxRunning, MaxRows: opts.MaxRows, MaxLogitRows: opts.MaxLogitRows}),
	}
	e.wg.Add(1)
	go e.loop()
	return e, nil
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*sharedEngine{}
)

type sharedEngine struct {
	once sync.Once
	e    *Engine
	err  error
}

// Shared returns the process-wide engine for dir, loading it on first use
// (later calls get the same engine, whatever their options). Safe from
// many goroutines: Beam DoFns call it in Setup.
func Shared(dir string, opts Options) (*Engine, error) {
	key, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	sharedMu.Lock()
	s := shared[key]
	if s == nil {
		s = &sharedEngine{}
		shared[key] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() { s.e, s.err = New(dir, opts); noteShared(s.e) })
	return s.e, s.err
}

// Close stops the loop and releases the model. Pending requests fail.
func (e *Engine) Close() error {
	e.once.Do(func() { close(e.quit) })
	e.wg.Wait()
	return e.Model.Close()
}

// Weights are the model's open checkpoint files, the root of a composite
// checkpoint (its encoders' tensors are read from the same memory map);
// nil for in-memory models.
func (e *Engine) Weights() *model.Weights {
	if w, ok := e.Model.(interface{ Weights() *model.Weights }); ok && w.Weights() != nil {
		return w.Weights().Root()
	}
	return nil
}

// KVInUse reports the bytes of the KV pages that running requests hold and
// the prefix cache does not (its pages are in PrefixStats().Bytes; a page
// a request shares with a cached prefix counts there), with what they are
// charged for beside the pages (FlashBytes).
func (e *Engine) KVInUse() int64 { return e.pool.Used() - e.PrefixStats().Bytes }

// Arch is what the decoder knows of the model.
func (e *Engine) Arch() decode.Arch { return e.arch }

// Generate runs one request to completion (or until ctx is done).
func (e *Engine) Generate(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	ids, err := e.promptIDs(req)
	if err != nil {
		return Result{ID: req.ID}, err
	}
	if req.MaxNewTokens <= 0 {
		req.MaxNewTokens = 128
		if len(req.Template) > 0 {
			req.MaxNewTokens = len(req.Template)
		}
	}
	arch := e.arch
	if req.Autoregressive {
		arch.Block = 1
	}
	var stream *streamer
	p := decode.Params{MaxNew: req.MaxNewTokens, Policy: req.Policy, Sampling: req.Sampling, Stop: e.stop,
		SubBlock: req.SubBlock, BlockCache: req.BlockCache, Template: req.Template, Constraint: req.Constraint,
		FlashBlock: req.FlashBlock}
	if fb, ok := e.Model.(model.FlashBlocker); req.FlashBlock && !(ok && fb.FlashBlock()) {
		return Result{ID: req.ID}, fmt.Errorf("engine: FlashBlock runs on the CPU backend only; %T does not take it", e.Model)
	}
	if len(req.Template) > 0 {
		p.Stop = nil // a scaffold's length is the output's; stop ids may serve as pads
	}
	if te, ok := e.Model.(model.TokenEmbedder); ok {
		p.Embedder = te // soft-input policies (decode.IterSmooth) read it
	}
	if req.Stream != nil {
		stream = &streamer{tok: e.Tok, emit: req.Stream}
		p.OnBlock = stream.block
	}
	embeds, err := e.placeMedia(ids, req.Media)
	if err != nil {
		return Result{ID: req.ID}, err
	}
	rope, err := e.ropePositions(ids, req.Positions)
	if err != nil {
		return Result{ID: req.ID}, err
	}
	ent := &sched.Entry{Ctx: ctx, NeedRows: needRows(len(ids)+req.MaxNewTokens, arch.Block)}
	if req.FlashBlock {
		ent.ChargeBytes = e.flashCache() // its attention cache counts against the KV budget
	}
	e.usePrefixCache(ent, &p, arch, ids, embeds, rope)
	var seq decode.Sequence
	if e.Model.Traits().Mask.Kind == cpu.Bidirectional {
		cp := req.Canvas
		cp.Params = p
		seq, err = decode.NewCanvas(arch, ids, cp)
	} else {
		seq, err = decode.NewBlock(arch, ids, p)
	}
	if err != nil {
		if ent.Release != nil {
			ent.Release()
		}
		return Result{ID: req.ID}, err
	}
	ent.Seq = decode.WithPositions(decode.WithEmbeds(seq, embeds), rope)
	if err := e.sch.Submit(ent); err != nil {
		e.meter.unfinished(err)
		if ent.Release != nil {
			ent.Release()
		}
		return Result{ID: req.ID}, err
	}
	select {
	case <-ent.Done:
	case <-ctx.Done():
		// The loop drops the entry and frees its cache at its next step.
		e.meter.unfinished(ctx.Err())
		return Result{ID: req.ID}, ctx.Err()
	case <-e.quit:
		e.meter.unfinished(errClosed)
		return Result{ID: req.ID}, errors.New("engine closed")
	}
	e.meter.finished(ent, ent.Err)
	if ent.Err != nil {
		return Result{ID: req.ID}, ent.Err
	}
	out := seq.Output()
	res := Result{ID: req.ID, TokenIDs: out, Tokens: len(out), Forwards: seq.Forwards(), Elapsed: time.Since(start),
		PromptTokens: len(ids), CachedRows: p.Cached}
	if bc, ok := seq.(decode.BlockCounter); ok {
		res.Blocks = bc.Blocks()
	}
	if e.Tok != nil {
		res.Text = e.Tok.Decode(out, true)
	}
	if stream != nil {
		stream.flush()
	}
	e.meter.generated(res)
	return res, nil
}

// usePrefixCache starts ent from the longest cached prefix of its prompt
// (setting p.Cached) and arranges for its own whole-block prompt prefix,
// and the prefix up to the end of its media, to be cached after its
// prefill.
func (e *Engine) usePrefixCache(ent *sched.Entry, p *decode.Params, arch decode.Arch, ids []int32, embeds []model.Embedding, rope *model.Positions) {
	if e.pc == nil {
		return
	}
	B := arch.Block
	maxRows := len(ids) / B * B
	if arch.Shifted {
		maxRows = max(maxRows-B, 0)
	}
	if maxRows == 0 {
		return
	}
	keys := blockKeys(ids[:maxRows], embeds, rope, B, e.Model.Config().HiddenSize)
	// Worth keeping: the whole prompt, and the prefix through the last
	// media row (shared by other prompts on the same image or audio).
	want := []int{maxRows}
	if n := len(embeds); n > 0 {
		last := embeds[n-1]
		if end := (last.Pos + len(last.Rows)/e.Model.Config().HiddenSize) / B * B; end > 0 && end < maxRows {
			want = append(want, end)
		}
	}
	e.cachePrefix(ent, &p.Cached, keys, B, want)
}

// cachePrefix starts ent from the longest cached prefix among keys (keys[k]
// names the first (k+1)·B rows), setting *cached to its rows, and inserts
// the prefixes of want rows (whole blocks, the longest first) once a
// forward has committed them.
func (e *Engine) cachePrefix(ent *sched.Entry, cached *int, keys [][32]byte, B int, want []int) {
	if seq, rows, release := e.pc.lookup(keys, len(keys)); seq != nil {
		*cached, ent.Prefix, ent.PrefixRows, ent.Release = rows, seq, rows, release
	}
	ent.OnForward = func(cache *kvcache.Sequence) {
		if cache.Len() < want[0] {
			return
		}
		for _, rows := range want {
			if rows > *cached {
				e.pc.insert(keys[rows/B-1], cache, rows)
			}
		}
		ent.OnForward = nil
	}
}

// PrefixStats reports the prefix cache's counters (zero when disabled).
func (e *Engine) PrefixStats() PrefixStats {
	if e.pc == nil {
		return PrefixStats{}
	}
	return e.pc.snapshot()
}

// placeMedia maps media rows onto their placeholder positions in ids: one
// model.Embedding per contiguous run of placeholders.
func (e *Engine) placeMedia(ids []int32, media []Media) ([]model.Embedding, error) {
	if len(media) == 0 {
		return nil, nil
	}
	H := e.Model.Config().HiddenSize
	var out []model.Embedding
	used := map[int32]bool{}
	next := map[int32]int{} // per placeholder token: where the search resumes
	for mi, m := range media {
		if len(m.Rows) == 0 || len(m.Rows)%H != 0 {
			return nil, fmt.Errorf("media %d: %d floats is not a whole number of rows of hidden size %d", mi, len(m.Rows), H)
		}
		used[m.Token] = true
		n, r := len(m.Rows)/H, 0
		for p := next[m.Token]; p < len(ids) && r < n; p++ {
			if ids[p] != m.Token {
				continue
			}
			if k := len(out) - 1; k >= 0 && out[k].Pos+len(out[k].Rows)/H == p && r > 0 {
				out[k].Rows = m.Rows[(r-len(out[k].Rows)/H)*H : (r+1)*H]
			} else {
				out = append(out, model.Embedding{Pos: p, Rows: m.Rows[r*H : (r+1)*H]})
			}
			r++
			next[m.Token] = p + 1
		}
		if r < n {
			return nil, fmt.Errorf("media %d: %d rows but the prompt has only %d more placeholder tokens (id %d)", mi, n, r, m.Token)
		}
	}
	for tok := range used {
		for p := next[tok]; p < len(ids); p++ {
			if ids[p] == tok {
				return nil, fmt.Errorf("prompt placeholder token %d at position %d has no media rows", tok, p)
			}
		}
	}
	return out, nil
}

// ropePositions checks a request's M-RoPE positions against its prompt and
// the model: nil when it carries none.
func (e *Engine) ropePositions(ids []int32, pos [3][]int) (*model.Positions, error) {
	if pos[0] == nil && pos[1] == nil && pos[2] == nil {
		return nil, nil
	}
	for a := range pos {
		if len(pos[a]) != len(ids) {
			return nil, fmt.Errorf("positions axis %d has %d ids for a prompt of %d tokens", a, len(pos[a]), len(ids))
		}
	}
	p, err := model.NewPositions(pos)
	if err != nil {
		return nil, err
	}
	if cfg := e.Model.Config(); cfg.MRopeSection == nil && !p.Linear() {
		return nil, fmt.Errorf("request has M-RoPE positions (axes differ) but %s has no mrope_section (1-D RoPE takes equal axes only)", cfg.Path)
	}
	return p, nil
}

func (e *Engine) promptIDs(req Request) ([]int32, error) {
	switch {
	case len(req.Messages) > 0 || req.Prompt != "":
		if e.Tok == nil {
			return nil, errors.New("engine has no tokenizer: send token ids")
		}
		text := req.Prompt
		if len(req.Messages) > 0 {
			var err error
			if text, err = e.Tok.ApplyChatTemplate(req.Messages, tokenizer.ChatOptions{AddGenerationPrompt: true}); err != nil {
				return nil, err
			}
		}
		return e.Tok.Encode(text), nil
	case len(req.Tokens) > 0:
		for i, t := range req.Tokens {
			if t < 0 || int(t) >= e.arch.Vocab {
				return nil, fmt.Errorf("prompt token %d: id %d outside the vocabulary [0, %d)", i, t, e.arch.Vocab)
			}
		}
		return req.Tokens, nil
	}
	return nil, errors.New("empty request: no messages, prompt or tokens")
}

// streamer turns committed token blocks into text, holding back a trailing
// incomplete UTF-8 sequence until the next block completes it.
type streamer struct {
	tok     *tokenizer.Tokenizer
	emit    func(string)
	ids     []int32
	emitted int // bytes of the decoded text already sent
}

func (s *streamer) block(toks []int32) {
	s.ids = append(s.ids, toks...)
	if s.tok == nil {
		return
	}
	text := s.tok.Decode(s.ids, true)
	end := len(text)
	for end > s.emitted && strings.HasSuffix(text[:end], string(utf8.RuneError)) {
		end -= len(string(utf8.RuneError))
	}
	if end > s.emitted {
		s.emit(text[s.emitted:end])
		s.emitted = end
	}
}

func (s *streamer) flush() {
	if s.tok == nil {
		return
	}
	if text := s.tok.Decode(s.ids, true); len(text) > s.emitted {
		s.emit(text[s.emitted:])
		s.emitted = len(text)
	}
}
