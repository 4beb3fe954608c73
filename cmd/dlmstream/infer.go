package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/schema"
	"dlmstream/engine/tokenizer"
)

func runInfer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "testdata/models/demo-text", "Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json)")
	prompt := fs.String("prompt", "", "input text")
	chat := fs.Bool("chat", true, "wrap the prompt in the tokenizer's ChatML chat template with a generation prompt")
	system := fs.String("system", "", "system message for the chat template")
	maxNew := fs.Int("max-new", 0, "generate up to this many tokens; 0 prints the top next tokens instead")
	top := fs.Int("top", 5, "how many next-token candidates to print when --max-new is 0")
	weights := fs.String("weights", "", "convert linear weights at load: bf16 or int8 (default: keep the checkpoint dtype)")
	ar := fs.Bool("ar", false, "decode autoregressively (block size 1) on the same weights")
	flash := fs.Bool("flashblock", false, "FlashBlock: reuse each block's attention over the committed prefix across its denoising steps (approximate; CPU backend, block-causal models)")
	calibrate := fs.Bool("calibrate", false, "with --schema: pick enum/boolean values by how much the input raises their probability (contextual calibration)")
	var pf policyFlags
	fs.StringVar(&pf.name, "policy", "static", "unmasking policy: "+policyNames())
	fs.Float64Var(&pf.tau, "tau", 0.9, "threshold / factor / entropy bound of the policy")
	fs.IntVar(&pf.steps, "steps", 0, "denoising steps per block for static schedules (default: block size, one token per step)")
	fs.IntVar(&pf.k, "k", 1, "tokens per step for --policy oracle; the anchor radius for --policy localleap; states per forward for --policy freedave (default: the block size)")
	fs.Float64Var(&pf.tauLow, "tau-low", 0.6, "--policy localleap: the confidence that commits an anchor's neighbour; --policy hierarchy: the bar of each run of masks' best")
	addVerifyFlag(fs, &pf)
	cf := addCanvasFlags(fs)
	temp := fs.Float64("temperature", 0, "sampling temperature (0: greedy)")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens")
	topP := fs.Float64("top-p", 0, "nucleus sampling mass")
	seed := fs.Uint64("seed", 1, "sampling seed")
	backend := fs.String("backend", "cpu", "where the forward runs: cpu, cuda, or auto (CUDA where a device is usable)")
	schemaPath := fs.String("schema", "", "JSON Schema file: extract JSON from --prompt that validates against it; a directory: measure coverage, compliance, tokens per forward and field accuracy per directory of schemas under it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *prompt == "" && *schemaPath == "" {
		return fmt.Errorf("infer: --prompt is required")
	}
	m, err := modelOnDisk("model", *dir)
	if err != nil {
		return fmt.Errorf("infer: %w", err)
	}
	*dir = m
	start := time.Now()
	e, err := engine.New(*dir, engine.Options{WeightType: *weights, Backend: *backend, Progress: progressPrinter(stderr, *dir)})
	if err != nil {
		return err
	}
	defer e.Close()
	req := engine.Request{Prompt: *prompt, MaxNewTokens: *maxNew, Autoregressive: *ar, FlashBlock: *flash,
		Sampling: decode.Sampling{Temperature: *temp, TopK: *topK, TopP: *topP, Seed: *seed}}
	if *chat {
		if *system != "" {
			req.Messages = append(req.Messages, tokenizer.Message{Role: "system", Content: *system})
		}
		req.Messages = append(req.Messages, tokenizer.Message{Role: "user", Content: *prompt})
	}
	if req.Policy, err = pf.policy(cf.block(e)); err != nil {
		return err
	}
	if err := cf.apply(e, &req); err != nil {
		return err
	}
	cfg := e.Model.Config()
	fmt.Fprintf(stderr, "%s: %s, %d layers, hidden %d, %.1f MB of weights, loaded in %v\n",
		*dir, cfg.ModelType, cfg.NumLayers, cfg.HiddenSize, float64(e.Model.WeightBytes())/1e6, time.Since(start).Round(time.Millisecond))
	if *schemaPath != "" {
		return runSchema(context.Background(), e, *schemaPath, *prompt,
			schema.Options{Policy: req.Policy, Sampling: req.Sampling, Autoregressive: *ar, Calibrate: *calibrate}, stdout, stderr)
	}

	if *maxNew <= 0 {
		return printNext(stdout, e, req, *top)
	}
	req.Stream = func(s string) { fmt.Fprint(stdout, s) }
	res, err := e.Generate(context.Background(), req)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stderr, "%d tokens, %d forwards (%.2f tokens per forward) in %v (%.1f tokens/s)\n", res.Tokens, res.Forwards,
		float64(res.Tokens)/float64(max(res.Forwards, 1)), res.Elapsed.Round(time.Millisecond), float64(res.Tokens)/res.Elapsed.Seconds())
	return nil
}

// printNext prints the k most likely tokens for the first generated
// position: the first forward of the decoder (for diffusion models, the
// leftmost mask of the first block; for shifted ones, the prompt's last row).
func printNext(w io.Writer, e *engine.Engine, req engine.Request, k int) error {
	text := req.Prompt
	if len(req.Messages) > 0 {
		var err error
		if text, err = e.Tok.ApplyChatTemplate(req.Messages, tokenizer.ChatOptions{AddGenerationPrompt: true}); err != nil {
			return err
		}
	}
	arch := e.Arch()
	if req.Autoregressive || arch.Block == 0 {
		arch.Block = 1
	}
	seq, err := decode.NewBlock(arch, e.Tok.Encode(text), decode.Params{MaxNew: 1, Policy: decode.Sequential{}})
	if err != nil {
		return err
	}
	wk, _ := seq.Next()
	cfg := e.Model.Config()
	cache := e.Model.NewPool(0).NewSequence()
	defer cache.Free()
	logits := make([]float32, len(wk.LogitRows)*cfg.VocabSize)
	if err := e.Model.Forward(&model.Batch{Seqs: []model.Seq{decode.ToModel(wk, cache, logits)}}); err != nil {
		return err
	}
	row := logits[:cfg.VocabSize]
	if !arch.Causal {
		row[arch.MaskID] = float32(math.Inf(-1))
	}
	printTop(w, e.Tok, row, k)
	return nil
}

// printTop prints the k most likely next tokens with their probabilities.
func printTop(w io.Writer, tok *tokenizer.Tokenizer, logits []float32, k int) {
	mx := float32(math.Inf(-1))
	for _, l := range logits {
		mx = max(mx, l)
	}
	var sum float64
	for _, l := range logits {
		sum += math.Exp(float64(l - mx))
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	for _, i := range idx[:min(k, len(idx))] {
		p := math.Exp(float64(logits[i]-mx)) / sum
		fmt.Fprintf(w, "%6d  %-20q  p=%.4f  logit=%.4f\n", i, tok.Token(int32(i)), p, logits[i])
	}
}

// progressPrinter reports loading progress on one rewritten line for
// checkpoints above 64 MB.
func progressPrinter(w io.Writer, dir string) func(done, total int64) {
	last := -1
	return func(done, total int64) {
		if total < 64<<20 {
			return
		}
		pct := int(100 * done / total)
		if pct == last {
			return
		}
		last = pct
		end := ""
		if done >= total {
			end = "\n"
		}
		fmt.Fprintf(w, "\rloading %s: %3d%% (%.2f of %.2f GB)%s", dir, pct, float64(done)/1e9, float64(total)/1e9, end)
	}
}
