package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"dlmstream/engine/decode"
)

// policyRun is one point of the policy bench: a decoding configuration by
// name, what --policy would build, or the autoregressive baseline.
type policyRun struct {
	name   string
	pf     policyFlags
	ar     bool
	policy decode.Policy // set: this value rather than pf's
	flash  bool          // FlashBlock on (an engine option, not a policy)
}

// benchPolicyRuns is every unmasking policy the engine has, at the
// thresholds a user would try: the papers' defaults and a sweep of the
// threshold policy that draws its quality-parallelism curve.
func benchPolicyRuns() []policyRun {
	th := func(name string, tau float64) policyRun {
		return policyRun{name: fmt.Sprintf("%s %.2g", name, tau), pf: policyFlags{name: name, tau: tau}}
	}
	runs := []policyRun{
		{name: "autoregressive", pf: policyFlags{name: "static"}, ar: true},
		{name: "one per step", pf: policyFlags{name: "static"}},
	}
	for _, tau := range []float64{0.95, 0.9, 0.8, 0.7, 0.5} {
		runs = append(runs, th("threshold", tau))
	}
	runs = append(runs,
		th("threshold2", 0.9),
		th("factor", 1),
		th("dynamic", 0.9),
		th("entropy", 0.35),
		policyRun{name: "margin", pf: policyFlags{name: "margin"}},
		th("credit", 0.9),
		th("sched", 0.9),
		policyRun{name: "localleap 0.9/0.7 r1", pf: policyFlags{name: "localleap", tau: 0.9, tauLow: 0.7, k: 1}},
		policyRun{name: "localleap 0.9/0.5 r2", pf: policyFlags{name: "localleap", tau: 0.9, tauLow: 0.5, k: 2}},
		policyRun{name: "hierarchy 0.9/0.4", pf: policyFlags{name: "hierarchy", tau: 0.9, tauLow: 0.4}},
		policyRun{name: "hierarchy 0.9/0.6", pf: policyFlags{name: "hierarchy", tau: 0.9, tauLow: 0.6}},
		th("itersmooth", 0.9),
		// The soft inputs alone: the bar flat at 0.9 from the first step
		// (dInfer's decay from 1.0 needs more steps than a block of 4 has).
		policyRun{name: "itersmooth flat 0.9", policy: flatSmooth(0.9)},
		policyRun{name: "freedave", pf: policyFlags{name: "freedave"}},
		// FreeDave over threshold 0.9: its output, in fewer forwards.
		policyRun{name: "freedave threshold 0.9", pf: policyFlags{name: "threshold", tau: 0.9, verify: true}},
		// The same, verifying a tree: other combinations of the drafts and
		// other likely tokens at them.
		policyRun{name: "freedave tree threshold 0.9", pf: policyFlags{name: "threshold", tau: 0.9, verify: true, tree: 64, alt: 0.005}},
		// FlashBlock is an engine option: threshold 0.9 with the block's
		// prefix attention reused across its steps.
		policyRun{name: "threshold 0.9 flashblock", pf: policyFlags{name: "threshold", tau: 0.9}, flash: true},
	)
	return runs
}

// flatSmooth is iteration smoothing with the bar at tau from the start.
func flatSmooth(tau float32) decode.Policy {
	p := decode.DefaultIterSmooth(tau)
	p.Start = tau
	return p
}

// The runs the bench compares against by name.
const (
	benchBaseline = "threshold 0.9"
	benchGreedy   = "one per step"
	benchFreeDave = "freedave"
	benchFlash    = "threshold 0.9 flashblock"
	benchVerified = "freedave threshold 0.9"
	benchTree     = "freedave tree threshold 0.9"
)

// policyPoint is what one policy measured on one task.
type policyPoint struct {
	run              policyRun
	quality          float64 // the task's headline metric
	extra            string  // its other metrics, for the table
	tokens, forwards int
	minForwards      int // the fewest any policy could take for these outputs (one per block holding a mask)
	items            int
	elapsed          time.Duration
	outputs          []string // per item, for the lossless check
}

func (p *policyPoint) tpf() float64 { return float64(p.tokens) / float64(max(p.forwards, 1)) }

// ceiling is the most tokens per forward any policy could reach with these
// outputs: every block decoded in one forward (0: not counted).
func (p *policyPoint) ceiling() float64 {
	if p.minForwards == 0 {
		return 0
	}
	return float64(p.tokens) / float64(p.minForwards)
}

// taskResult is one task's table and plot panel.
type taskResult struct {
	name        string // "text, scaffolded"
	metric      string // "field accuracy %"
	extraHead   string // the extra column's heading
	lowerBetter bool
	block       int // the checkpoint's block size: no policy commits more per forward
	points      []*policyPoint
}

func runBenchPolicies(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench --policies", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tasks := fs.String("tasks", "text,speech,vision", "tasks to measure: text (demo-text on the held-out schemas, with and without scaffolding), speech (demo-speech WER), vision (demo-vision exact match and CIDEr-D)")
	textModel := fs.String("text-model", "testdata/models/demo-text", "text checkpoint directory")
	textDir := fs.String("text-dir", "testdata/heldout/text/schemas", "held-out schemas: NAME.json with NAME.jsonl cases")
	speechModel := fs.String("speech-model", "testdata/models/demo-speech-v2", "speech checkpoint directory")
	speechDir := fs.String("speech-dir", "testdata/heldout/speech-voices", "held-out speech directory (manifest.jsonl)")
	speechPrior := fs.String("speech-prior", "none,ctc", "ASR priors, a task each: none leaves every token to the policy; ctc, self or draft settle some first")
	visionModel := fs.String("vision-model", "testdata/models/demo-vision", "vision checkpoint directory")
	visionDir := fs.String("vision-dir", "testdata/heldout/vision", "held-out image directory (manifest.jsonl)")
	limit := fs.Int("limit", 0, "the first N items of each task (text: of each schema) only")
	only := fs.String("only", "", "comma-separated policy runs to measure (names as printed; default all)")
	plotPath := fs.String("plot", "", "write the quality vs tokens-per-forward plot here (.svg or .png; comma-separated for several)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench --policies: unexpected argument %q", fs.Arg(0))
	}
	runs, err := selectRuns(benchPolicyRuns(), *only)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var results []*taskResult
	for _, t := range strings.Split(*tasks, ",") {
		var rs []*taskResult
		start := time.Now()
		switch strings.TrimSpace(t) {
		case "text":
			rs, err = benchText(ctx, *textModel, *textDir, runs, *limit)
		case "speech":
			rs, err = benchSpeech(ctx, *speechModel, *speechDir, strings.Split(*speechPrior, ","), runs, *limit)
		case "vision":
			rs, err = benchVision(ctx, *visionModel, *visionDir, runs, *limit)
		default:
			return fmt.Errorf("bench --policies: unknown task %q (text, speech, vision)", t)
		}
		if err != nil {
			return fmt.Errorf("bench --policies: %s: %w", t, err)
		}
		for _, r := range rs {
			writePolicyTable(stdout, r)
		}
		fmt.Fprintf(stdout, "(%s measured in %v)\n\n", t, time.Since(start).Round(time.Second))
		results = append(results, rs...)
	}
	for _, path := range strings.Split(*plotPath, ",") {
		if path == "" {
			continue
		}
		if err := writePolicyPlot(path, results); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "plot: %s\n", path)
	}
	return nil
}

// selectRuns keeps the runs named in only (all when empty), in bench order.
func selectRuns(runs []policyRun, only string) ([]policyRun, error) {
	if only == "" {
		return runs, nil
	}
	var out []policyRun
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(n)
		i := slices.IndexFunc(runs, func(r policyRun) bool { return r.name == n })
		if i < 0 {
			names := make([]string, len(runs))
			for j, r := range runs {
				names[j] = r.name
			}
			return nil, fmt.Errorf("bench --policies: --only: unknown run %q (known: %s)", n, strings.Join(names, ", "))
		}
		out = append(out, runs[i])
	}
	return out, nil
}

// runPolicies builds each run's decode.Policy for a model of this block
// size; the autoregressive run's is one token per forward.
func runPolicies(runs []policyRun, block int) ([]decode.Policy, error) {
	ps := make([]decode.Policy, len(runs))
	for i, r := range runs {
		if r.policy != nil {
			ps[i] = r.policy
			continue
		}
		p, err := r.pf.policy(block)
		if err != nil {
			return nil, err
		}
		if r.ar {
			p = decode.StaticTopK{Steps: 1}
		}
		ps[i] = p
	}
	return ps, nil
}

// verdict compares p with the baseline: the tokens-per-forward ratio, the
// quality change in points (positive is better), and whether p is at
// least 30% more parallel at equal quality (within 0.5 points).
func verdict(p, base *policyPoint, lowerBetter bool) (ratio, delta float64, wins bool) {
	ratio = p.tpf() / base.tpf()
	delta = p.quality - base.quality
	if lowerBetter {
		delta = -delta
	}
	if delta == 0 {
		delta = 0 // not -0
	}
	return ratio, delta, ratio >= 1.3 && delta >= -0.5
}

// lossless counts the items on which run a's outputs equal run b's.
func lossless(a, b *policyPoint) (same, n int) {
	for i := range min(len(a.outputs), len(b.outputs)) {
		if a.outputs[i] == b.outputs[i] {
			same++
		}
	}
	return same, min(len(a.outputs), len(b.outputs))
}

// whyNot says why no run wins: the target beyond the block size, or the
// most parallel run that keeps quality and how far it got.
func (r *taskResult) whyNot(base *policyPoint) string {
	need := 1.3 * base.tpf()
	var best *policyPoint
	for _, p := range r.points {
		if _, delta, _ := verdict(p, base, r.lowerBetter); p != base && delta >= -0.5 && (best == nil || p.tpf() > best.tpf()) {
			best = p
		}
	}
	msg := fmt.Sprintf("the target is %.2f tokens/forward", need)
	switch c := base.ceiling(); {
	case c > 0 && need > c:
		msg += fmt.Sprintf(", above the %.2f that %s's outputs allow any policy (one forward per block holding a mask)", c, benchBaseline)
	case c > 0:
		msg += fmt.Sprintf("; %s's outputs allow any policy %.2f (one forward per block holding a mask)", benchBaseline, c)
	}
	if r.block > 0 && need > float64(r.block) {
		msg += fmt.Sprintf(", above the block size %d (no policy commits more than a block per forward)", r.block)
	}
	if best != nil {
		ratio, delta, _ := verdict(best, base, r.lowerBetter)
		msg += fmt.Sprintf("; the most parallel run within 0.5 points is %s at %.2f (%+.0f%%, %+.1f points)", best.run.name, best.tpf(), 100*(ratio-1), delta)
	}
	return msg
}

func (r *taskResult) point(name string) *policyPoint {
	for _, p := range r.points {
		if p.run.name == name {
			return p
		}
	}
	return nil
}

// writePolicyTable prints a task's table: quality, tokens per forward,
// forwards and wall time per item, and each run against threshold 0.9;
// then the verdict and FreeDave's lossless check.
func writePolicyTable(w io.Writer, r *taskResult) {
	fmt.Fprintf(w, "== %s: %d items\n", r.name, r.points[0].items)
	base := r.point(benchBaseline)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "policy\t%s\t%s\ttokens/forward\tforwards/item\tms/item\tvs %s (tokens/forward, points)\t\n", r.metric, r.extraHead, benchBaseline)
	var wins []string
	for _, p := range r.points {
		n := float64(max(p.items, 1))
		vs := "-"
		if base != nil && p != base {
			ratio, delta, ok := verdict(p, base, r.lowerBetter)
			vs = fmt.Sprintf("%+.0f%%, %+.1f", 100*(ratio-1), delta)
			if ok {
				vs += " *"
				wins = append(wins, fmt.Sprintf("%s (%+.0f%% tokens/forward, %+.1f points)", p.run.name, 100*(ratio-1), delta))
			}
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.2f\t%.2f\t%.1f\t%s\t\n", p.run.name, p.quality, p.extra, p.tpf(),
			float64(p.forwards)/n, float64(p.elapsed.Microseconds())/1000/n, vs)
	}
	tw.Flush()
	switch {
	case base == nil:
	case len(wins) == 0:
		fmt.Fprintf(w, "%s: no run beats %s by >= 30%% tokens/forward within 0.5 points: %s\n", r.name, benchBaseline, r.whyNot(base))
	default:
		fmt.Fprintf(w, "%s: * beats %s by >= 30%% tokens/forward within 0.5 points: %s\n", r.name, benchBaseline, strings.Join(wins, "; "))
	}
	if fd, g := r.point(benchFreeDave), r.point(benchGreedy); fd != nil && g != nil {
		same, n := lossless(fd, g)
		fmt.Fprintf(w, "%s: freedave output identical to one token per step on %d/%d items, in %.0f%% of one per step's forwards\n",
			r.name, same, n, 100*float64(fd.forwards)/float64(max(g.forwards, 1)))
	}
	for _, v := range []string{benchVerified, benchTree} {
		if fd := r.point(v); fd != nil && base != nil {
			same, n := lossless(fd, base)
			fmt.Fprintf(w, "%s: %s output identical to %s on %d/%d items, in %.0f%% of its forwards\n",
				r.name, v, benchBaseline, same, n, 100*float64(fd.forwards)/float64(max(base.forwards, 1)))
		}
	}
	if fl := r.point(benchFlash); fl != nil && base != nil {
		same, n := lossless(fl, base)
		fmt.Fprintf(w, "%s: flashblock (approximate) output identical to %s on %d/%d items\n", r.name, benchBaseline, same, n)
	}
	fmt.Fprintln(w)
}

var errNoItems = errors.New("no held-out items")
