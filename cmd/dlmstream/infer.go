package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"dlmstream/engine/model"
	_ "dlmstream/engine/model/qwen" // registers qwen2, qwen3, sdar, Fast_dLLM_Qwen
	"dlmstream/engine/tokenizer"
)

func runInfer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("infer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "testdata/models/tiny-sdar", "Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json)")
	prompt := fs.String("prompt", "", "input text")
	chat := fs.Bool("chat", true, "wrap the prompt in the tokenizer's ChatML chat template with a generation prompt")
	system := fs.String("system", "", "system message for the chat template")
	maxNew := fs.Int("max-new", 0, "generate up to this many tokens greedily; 0 prints the top next tokens instead")
	top := fs.Int("top", 5, "how many next-token candidates to print when --max-new is 0")
	weights := fs.String("weights", "", "convert linear weights at load: bf16 or int8 (default: keep the checkpoint dtype)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *prompt == "" {
		return fmt.Errorf("infer: --prompt is required")
	}
	start := time.Now()
	m, err := model.Load(*dir, model.LoadOptions{WeightType: *weights, Progress: progressPrinter(stderr, *dir)})
	if err != nil {
		return err
	}
	defer m.Close()
	tok, err := tokenizer.Load(*dir)
	if err != nil {
		return err
	}
	text := *prompt
	if *chat {
		var msgs []tokenizer.Message
		if *system != "" {
			msgs = append(msgs, tokenizer.Message{Role: "system", Content: *system})
		}
		msgs = append(msgs, tokenizer.Message{Role: "user", Content: *prompt})
		if text, err = tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true}); err != nil {
			return err
		}
	}
	ids := tok.Encode(text)
	cfg := m.Config()
	if cfg.MaskTokenID == nil && m.Traits().Diffusion { // Fast-dLLM v2 keeps its mask token only in the tokenizer
		for _, name := range []string{"|<MASK>|", "<|MASK|>", "<|mask|>"} {
			if id, ok := tok.TokenID(name); ok {
				v := int(id)
				cfg.MaskTokenID = &v
				break
			}
		}
	}
	fmt.Fprintf(stderr, "%s: %s, %d layers, hidden %d, %.1f MB of weights; loaded in %v; prompt %d tokens\n",
		*dir, cfg.ModelType, cfg.NumLayers, cfg.HiddenSize, float64(m.WeightBytes())/1e6, time.Since(start).Round(time.Millisecond), len(ids))

	gen, err := model.LoadGenerationConfig(*dir)
	if err != nil {
		return err
	}
	stop := map[int32]bool{}
	for _, id := range append(append([]int{}, gen.EOSTokenID...), cfg.EOSTokenID...) {
		stop[int32(id)] = true
	}

	if *maxNew <= 0 {
		var row []float32
		if _, err := greedy(m, ids, 1, stop, func(l []float32) { row = append([]float32(nil), l...) }, func(int32) {}); err != nil {
			return err
		}
		printTop(stdout, tok, row, *top)
		return nil
	}
	t0 := time.Now()
	var out []int32
	forwards, err := greedy(m, ids, *maxNew, stop, nil, func(t int32) { out = append(out, t) })
	if err != nil {
		return err
	}
	el := time.Since(t0)
	fmt.Fprintln(stdout, tok.Decode(out, true))
	fmt.Fprintf(stderr, "%d tokens, %d forwards in %v (%.1f tokens/s)\n", len(out), forwards, el.Round(time.Millisecond), float64(len(out))/el.Seconds())
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
