package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/vision"
)

// visionItem is one line of a held-out image manifest (testdata/heldout/vision).
type visionItem struct {
	Image    string   `json:"image"`
	Caption  string   `json:"caption"`
	Captions []string `json:"captions,omitempty"` // more references
}

func (it visionItem) refs() []string {
	if it.Caption == "" {
		return it.Captions
	}
	return append([]string{it.Caption}, it.Captions...)
}

func (it visionItem) check() error {
	if it.Image == "" || len(it.refs()) == 0 {
		return errors.New("want an image and a caption")
	}
	return nil
}

// visionScore is what one decoding mode measured over the directory.
type visionScore struct {
	name                  string
	exact, tokens, fwds   int
	cands                 map[string]string
	tower, decode, retry  time.Duration
	retryDecodeOfFirst    time.Duration // the first requests' decode time, for the retry ratio
	cachedRows, promptLen int
}

func runEvalVision(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval vision", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "testdata/models/demo-vision", "vision checkpoint directory")
	pf := policyFlags{}
	fs.StringVar(&pf.name, "policy", "static", "unmasking policy: "+policyNames())
	fs.Float64Var(&pf.tau, "tau", 0.9, "threshold of threshold-style policies")
	fs.IntVar(&pf.steps, "steps", 0, "steps per block for static policies (default: block size, one token per step)")
	addVerifyFlag(fs, &pf)
	ar := fs.Bool("ar", false, "autoregressive baseline: block size 1 on the same weights")
	sweep := fs.Bool("sweep", false, "measure autoregressive, one token per step, threshold 0.9 and 0.7 in one run")
	limit := fs.Int("limit", 0, "evaluate the first N images only")
	verbose := fs.Bool("v", false, "print every caption that is not exact")
	keepList := fs.String("keep-image-tokens", "", "prune each image's rows to these shares before the language model (comma-separated, e.g. 1,0.5,0.25: a mode each; diversity-selected rows keep their positions)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("eval vision: want one held-out directory")
	}
	dir := pos[0]
	items, err := readManifest(dir, *limit, visionItem.check)
	if err != nil {
		return err
	}
	if *model, err = modelOnDisk("model", *model); err != nil {
		return fmt.Errorf("eval vision: %w", err)
	}
	eng, err := engine.New(*model, engine.Options{})
	if err != nil {
		return err
	}
	defer eng.Close()
	capt, err := vision.NewCaptioner(eng)
	if err != nil {
		return err
	}
	type mode struct {
		name string
		pf   policyFlags
		ar   bool
		keep float64
	}
	modes := []mode{{name: pf.name, pf: pf, ar: *ar}}
	if *ar {
		modes[0].name = "autoregressive"
	} else if pf.name == "threshold" {
		modes[0].name = fmt.Sprintf("threshold %.2g", pf.tau)
	}
	if *sweep {
		modes = []mode{
			{"autoregressive", policyFlags{name: "static"}, true, 0},
			{"one token per step", policyFlags{name: "static"}, false, 0},
			{"threshold 0.9", policyFlags{name: "threshold", tau: 0.9}, false, 0},
			{"threshold 0.7", policyFlags{name: "threshold", tau: 0.7}, false, 0},
		}
	}
	if *keepList != "" {
		var kept []mode
		for _, k := range strings.Split(*keepList, ",") {
			share, err := strconv.ParseFloat(strings.TrimSpace(k), 64)
			if err != nil || share <= 0 || share > 1 {
				return fmt.Errorf("eval vision: --keep-image-tokens %q: want shares in (0, 1]", k)
			}
			for _, m := range modes {
				m.keep = share
				m.name += fmt.Sprintf(", keep %.0f%%", 100*share)
				kept = append(kept, m)
			}
		}
		modes = kept
	}
	imgs := make([]*vision.RGB, len(items))
	refs := map[string][]string{}
	for i, it := range items {
		b, err := os.ReadFile(filepath.Join(dir, it.Image))
		if err != nil {
			return err
		}
		if imgs[i], _, err = vision.Decode(b, vision.DecodeOptions{}); err != nil {
			return fmt.Errorf("%s: %w", it.Image, err)
		}
		refs[it.Image] = it.refs()
	}
	scores := make([]*visionScore, len(modes))
	opts := make([]vision.CaptionOptions, len(modes))
	for k, m := range modes {
		p, err := m.pf.policy(eng.Arch().Block)
		if err != nil {
			return err
		}
		if m.ar {
			p = decode.StaticTopK{Steps: 1}
		}
		opts[k] = vision.CaptionOptions{Policy: p, Autoregressive: m.ar, KeepImageTokens: m.keep}
		scores[k] = &visionScore{name: m.name, cands: map[string]string{}}
	}
	ctx := context.Background()
	// Modes of one image back to back: machine load weighs on all alike.
	for i, it := range items {
		for k := range modes {
			s := scores[k]
			c, err := capt.Caption(ctx, imgs[i], opts[k])
			if err != nil {
				return fmt.Errorf("%s: %w", it.Image, err)
			}
			// A retry of the same image: its prompt prefix comes from the cache.
			r, err := capt.Caption(ctx, imgs[i], opts[k])
			if err != nil {
				return fmt.Errorf("%s: %w", it.Image, err)
			}
			s.cands[it.Image] = c.Text
			s.tokens += c.Tokens
			s.fwds += c.Forwards
			s.tower += c.Tower
			s.decode += c.Decode
			s.retry += r.Decode
			s.cachedRows += r.CachedRows
			s.promptLen += r.PromptTokens
			if c.Text == it.Caption {
				s.exact++
			} else if *verbose {
				fmt.Fprintf(stdout, "  %s [%s]: %q, reference %q\n", it.Image, modes[k].name, c.Text, it.Caption)
			}
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "decoding\texact\tCIDEr-D\tBLEU-4\ttokens/forward\tms/image\ttower share\tretry ms/image (prefix cache)\tprompt rows reused\t\n")
	n := float64(len(items))
	var last struct {
		exact, cider, tpf float64
	}
	for _, s := range scores {
		cider, _, err := vision.CIDErD(s.cands, refs)
		if err != nil {
			return err
		}
		bleu, _, err := vision.BLEU(s.cands, refs, 4)
		if err != nil {
			return err
		}
		ms := float64((s.tower + s.decode).Microseconds()) / 1000 / n
		retry := float64((s.tower + s.retry).Microseconds()) / 1000 / n
		tpf := float64(s.tokens) / float64(max(s.fwds, 1))
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.3f\t%.3f\t%.2f\t%.1f\t%.0f%%\t%.1f\t%.0f%%\t\n", s.name, 100*float64(s.exact)/n, cider, bleu[3], tpf, ms,
			100*s.tower.Seconds()/(s.tower+s.decode).Seconds(), retry, 100*float64(s.cachedRows)/float64(max(s.promptLen, 1)))
		last.exact, last.cider, last.tpf = 100*float64(s.exact)/n, cider, tpf
	}
	tw.Flush()
	fmt.Fprintf(stdout, "exact %.1f%% CIDEr-D %.2f tokens/forward %.2f\n", last.exact, last.cider, last.tpf)
	return nil
}
