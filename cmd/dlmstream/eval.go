package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"dlmstream/asr"
	"dlmstream/engine"
	"dlmstream/engine/decode"
)

func init() {
	register("eval", "measure a checkpoint on a held-out directory: eval speech|vision DIR", runEval)
}

func runEval(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "speech":
			return runEvalSpeech(args[1:], stdout, stderr)
		case "vision":
			return runEvalVision(args[1:], stdout, stderr)
		}
	}
	return errors.New("usage: dlmstream eval speech|vision DIR [flags] (DIR holds manifest.jsonl and the audio or image files)")
}

// speechItem is one line of a held-out manifest (testdata/heldout/speech).
type speechItem struct {
	Audio string `json:"audio"`
	Text  string `json:"text"`
	Draft string `json:"draft,omitempty"` // for --prior draft
}

func (it speechItem) check() error {
	if it.Audio == "" {
		return errors.New("no audio field")
	}
	return nil
}

// speechMode is one decoding configuration of the evaluation.
type speechMode struct {
	prior  string
	policy string
	tau    float64
	ar     bool
}

func (m speechMode) String() string {
	p := m.policy
	if m.policy == "threshold" {
		p = fmt.Sprintf("threshold %.2g", m.tau)
	}
	if m.ar {
		p = "autoregressive"
	}
	return m.prior + " / " + p
}

// speechScore is what one mode measured over the directory.
type speechScore struct {
	mode                 speechMode
	corpus               asr.Corpus
	exact, n             int
	tokens, forwards     int
	elapsed, audioLength time.Duration
	decode               time.Duration // in the language model
}

func runEvalSpeech(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval speech", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "testdata/models/demo-speech-v2", "speech checkpoint directory")
	prior := fs.String("prior", "ctc", "ASR prior: none, ctc, self, draft (the manifest's draft field)")
	pf := policyFlags{}
	fs.StringVar(&pf.name, "policy", "static", "unmasking policy for what the prior does not settle: "+policyNames())
	fs.Float64Var(&pf.tau, "tau", 0.9, "threshold of threshold-style policies")
	fs.IntVar(&pf.steps, "steps", 0, "steps per block for static policies (default: block size, one token per step)")
	addVerifyFlag(fs, &pf)
	ar := fs.Bool("ar", false, "autoregressive baseline: block size 1 on the same weights")
	sweep := fs.Bool("sweep", false, "measure the prior x policy table (incl. the autoregressive baseline) instead of one mode")
	limit := fs.Int("limit", 0, "evaluate the first N items only")
	verbose := fs.Bool("v", false, "print every transcript that is not exact")
	normName := fs.String("normalizer", "basic", "text normalizer before WER: basic (lowercase, no punctuation; the model cards' figures) or english (Whisper's EnglishTextNormalizer)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("eval speech: want one held-out directory")
	}
	dir := pos[0]
	items, err := readManifest(dir, *limit, speechItem.check)
	if err != nil {
		return err
	}
	if *model, err = modelOnDisk("model", *model); err != nil {
		return fmt.Errorf("eval speech: %w", err)
	}
	eng, err := engine.New(*model, engine.Options{})
	if err != nil {
		return err
	}
	defer eng.Close()
	rec, err := asr.NewRecognizer(eng)
	if err != nil {
		return err
	}
	audio := make([][]float32, len(items))
	for i, it := range items {
		b, err := os.ReadFile(filepath.Join(dir, it.Audio))
		if err != nil {
			return err
		}
		a, err := asr.Decode(b, asr.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("%s: %w", it.Audio, err)
		}
		audio[i] = a.Samples
	}
	modes := []speechMode{{prior: *prior, policy: pf.name, tau: pf.tau, ar: *ar}}
	if *sweep {
		modes = []speechMode{
			{prior: "none", policy: "static", ar: true},
			{prior: "none", policy: "static"},
			{prior: "none", policy: "threshold", tau: 0.9},
			{prior: "none", policy: "threshold", tau: 0.7},
			{prior: "ctc", policy: "static"},
			{prior: "ctc", policy: "threshold", tau: 0.9},
			{prior: "ctc", policy: "threshold", tau: 0.7},
			{prior: "self", policy: "static"},
			{prior: "self", policy: "threshold", tau: 0.9},
		}
	}
	var norm asr.Normalizer = asr.BasicNormalizer{}
	switch *normName {
	case "basic":
	case "english":
		norm = asr.EnglishNormalizer{}
	default:
		return fmt.Errorf("unknown --normalizer %q (basic, english)", *normName)
	}
	scores, err := evalSpeechModes(rec, eng, modes, pf, items, audio, norm, stdout, *verbose)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "prior / policy\tWER\texact\ttokens/forward\tforwards/clip\tms/clip\tLM ms/clip\treal-time factor\tspeedup vs AR (all / LM)\t\n")
	var base *speechScore
	for _, s := range scores {
		if s.mode.ar {
			base = s
		}
	}
	for _, s := range scores {
		speed := "-"
		if base != nil {
			speed = fmt.Sprintf("%.2fx / %.2fx", base.elapsed.Seconds()/s.elapsed.Seconds(), base.decode.Seconds()/s.decode.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%.2f%%\t%.1f%%\t%.2f\t%.2f\t%.1f\t%.1f\t%.4f\t%s\t\n", s.mode, 100*s.corpus.WER(), 100*float64(s.exact)/float64(s.n),
			s.tpf(), float64(s.forwards)/float64(s.n), s.msPerClip(), float64(s.decode.Microseconds())/1000/float64(s.n),
			s.elapsed.Seconds()/s.audioLength.Seconds(), speed)
	}
	tw.Flush()
	last := scores[len(scores)-1]
	if !*sweep {
		fmt.Fprintf(stdout, "WER %.2f%% exact %.1f%% tokens/forward %.2f forwards/clip %.2f\n", 100*last.corpus.WER(),
			100*float64(last.exact)/float64(last.n), last.tpf(), float64(last.forwards)/float64(last.n))
	}
	return nil
}

func (s *speechScore) tpf() float64 {
	if s.forwards == 0 {
		return 0
	}
	return float64(s.tokens) / float64(s.forwards)
}

func (s *speechScore) msPerClip() float64 {
	return float64(s.elapsed.Microseconds()) / 1000 / float64(s.n)
}

// evalSpeechModes transcribes every item in every mode, the modes of one
// item back to back, so machine load (shared, noisy machines) weighs on all
// modes alike and their time ratios are measured in one run.
func evalSpeechModes(rec *asr.Recognizer, eng *engine.Engine, modes []speechMode, pf policyFlags, items []speechItem, audio [][]float32, norm asr.Normalizer, stdout io.Writer, verbose bool) ([]*speechScore, error) {
	scores := make([]*speechScore, len(modes))
	opts := make([]asr.Options, len(modes))
	for k, m := range modes {
		scores[k] = &speechScore{mode: m, n: len(items), corpus: asr.Corpus{Normalizer: norm}}
		pf.name, pf.tau = m.policy, m.tau
		policy, err := pf.policy(eng.Arch().Block)
		if err != nil {
			return nil, err
		}
		if m.ar {
			policy = decode.StaticTopK{Steps: 1}
		}
		opts[k] = asr.Options{Policy: policy, Autoregressive: m.ar}
	}
	ctx := context.Background()
	for i, it := range items {
		seconds := time.Duration(float64(len(audio[i])) / asr.SampleRate * float64(time.Second))
		for k, m := range modes {
			s := scores[k]
			p, err := asr.PriorByName(m.prior, it.Draft)
			if err != nil {
				return nil, err
			}
			o := opts[k]
			o.Prior = p
			start := time.Now()
			tr, err := rec.Transcribe(ctx, audio[i], o)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Audio, err)
			}
			s.elapsed += time.Since(start)
			s.decode += tr.Decode
			s.audioLength += seconds
			if s.corpus.Add(it.Text, tr.Text).Errors() == 0 {
				s.exact++
			} else if verbose {
				fmt.Fprintf(stdout, "  %s [%s]: %q, reference %q\n", it.Audio, m, tr.Text, it.Text)
			}
			s.tokens += tr.Tokens
			s.forwards += tr.Forwards
		}
	}
	return scores, nil
}

// readManifest reads dir/manifest.jsonl, one item a line (the first limit
// when limit > 0); check rejects an item, naming what is missing.
func readManifest[T any](dir string, limit int, check func(T) error) ([]T, error) {
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []T
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var it T
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return nil, fmt.Errorf("%s line %d: %v", f.Name(), line, err)
		}
		if err := check(it); err != nil {
			return nil, fmt.Errorf("%s line %d: %v", f.Name(), line, err)
		}
		items = append(items, it)
		if limit > 0 && len(items) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no items", f.Name())
	}
	return items, nil
}

// parseInterspersed parses flags placed before and after positional
// arguments (dlmstream eval speech DIR --prior none).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
