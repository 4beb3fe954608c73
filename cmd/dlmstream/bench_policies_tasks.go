package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"dlmstream/asr"
	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/schema"
	"dlmstream/vision"
)

// Every task runs all policies on one item back to back before the next
// item, so the load of a shared machine weighs on every policy alike and
// the time columns compare within one run. Each item is first decoded
// once untimed (the first run's policy): the engine's prefix cache then
// holds its prompt for every policy alike.

// benchText extracts every held-out case of every schema under dir (NAME.json
// beside NAME.jsonl) with each run, scaffolded and unscaffolded: two tasks,
// scored by field accuracy against the gold outputs.
func benchText(ctx context.Context, modelDir, dir string, runs []policyRun, limit int) ([]*taskResult, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	type schemaCases struct {
		s     *schema.Schema
		cases []schema.Case
	}
	var sets []schemaCases
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		s, err := schema.Compile(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		cases, err := readCases(strings.TrimSuffix(f, ".json") + ".jsonl")
		if err != nil {
			return nil, err
		}
		if limit > 0 && len(cases) > limit {
			cases = cases[:limit]
		}
		if len(cases) > 0 {
			sets = append(sets, schemaCases{s, cases})
		}
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("%s: %w (NAME.json with NAME.jsonl)", dir, errNoItems)
	}
	eng, policies, err := openTask(modelDir, runs)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	reports := make([]schema.Report, len(runs))
	for _, set := range sets {
		for _, c := range set.cases {
			warm := schema.Options{Policy: policies[0], Autoregressive: runs[0].ar}
			if _, err := schema.Measure(ctx, eng, set.s, []schema.Case{c}, warm, true); err != nil {
				return nil, err
			}
			for k, r := range runs {
				opts := schema.Options{Policy: policies[k], Autoregressive: r.ar, FlashBlock: r.flash}
				m, err := schema.Measure(ctx, eng, set.s, []schema.Case{c}, opts, true)
				if err != nil {
					return nil, err
				}
				addReport(&reports[k], m)
			}
		}
	}
	block := eng.Arch().Block
	scaff := &taskResult{name: "text, scaffolded", metric: "field accuracy %", extraHead: "valid", block: block}
	free := &taskResult{name: "text, unscaffolded", metric: "field accuracy %", extraHead: "valid", block: block}
	for k, r := range runs {
		m := reports[k]
		p := &policyPoint{run: r, quality: pct(m.CorrectFields, m.GoldFields), extra: fmt.Sprintf("%d/%d", m.Valid, m.Attempts),
			tokens: m.Decoded, forwards: m.Forwards, minForwards: m.MinForwards, items: m.Attempts, elapsed: m.Elapsed}
		for _, o := range m.Outputs {
			p.outputs = append(p.outputs, string(o))
		}
		scaff.points = append(scaff.points, p)
		free.points = append(free.points, &policyPoint{run: r, quality: pct(m.FreeCorrectFields, m.GoldFields),
			extra: fmt.Sprintf("%d/%d", m.FreeValid, m.Attempts), tokens: m.FreeTokens, forwards: m.FreeForwards, minForwards: m.FreeMinForwards,
			items: m.Attempts, elapsed: m.FreeElapsed, outputs: m.FreeTexts})
	}
	return []*taskResult{scaff, free}, nil
}

// addReport sums one case's report into r.
func addReport(r *schema.Report, m schema.Report) {
	r.Attempts += m.Attempts
	r.Refused += m.Refused
	r.Valid += m.Valid
	r.Decoded += m.Decoded
	r.Forwards += m.Forwards
	r.MinForwards += m.MinForwards
	r.FreeMinForwards += m.FreeMinForwards
	r.GoldFields += m.GoldFields
	r.CorrectFields += m.CorrectFields
	r.FreeJSON += m.FreeJSON
	r.FreeValid += m.FreeValid
	r.FreeTokens += m.FreeTokens
	r.FreeForwards += m.FreeForwards
	r.FreeCorrectFields += m.FreeCorrectFields
	r.Elapsed += m.Elapsed
	r.FreeElapsed += m.FreeElapsed
	r.Outputs = append(r.Outputs, m.Outputs...)
	r.FreeTexts = append(r.FreeTexts, m.FreeTexts...)
}

// benchSpeech transcribes every held-out clip with each run under each
// prior (a task each: the prior settles what it can first; "none" leaves
// every token to the policy), scored by corpus WER after the basic
// normalizer.
func benchSpeech(ctx context.Context, modelDir, dir string, priors []string, runs []policyRun, limit int) ([]*taskResult, error) {
	items, err := readManifest(dir, limit, speechItem.check)
	if err != nil {
		return nil, err
	}
	eng, policies, err := openTask(modelDir, runs)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	rec, err := asr.NewRecognizer(eng)
	if err != nil {
		return nil, err
	}
	var out []*taskResult
	for _, prior := range priors {
		if _, err := asr.PriorByName(prior, "draft"); err != nil {
			return nil, err
		}
		res, err := benchSpeechPrior(ctx, rec, eng.Arch().Block, dir, prior, items, runs, policies)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

func benchSpeechPrior(ctx context.Context, rec *asr.Recognizer, block int, dir, prior string, items []speechItem, runs []policyRun, policies []decode.Policy) (*taskResult, error) {
	type score struct {
		corpus asr.Corpus
		exact  int
	}
	scores := make([]score, len(runs))
	res := &taskResult{name: "speech, prior " + prior, metric: "WER %", extraHead: "exact", lowerBetter: true, block: block}
	for k, r := range runs {
		scores[k].corpus.Normalizer = asr.BasicNormalizer{}
		res.points = append(res.points, &policyPoint{run: r})
	}
	for _, it := range items {
		b, err := os.ReadFile(filepath.Join(dir, it.Audio))
		if err != nil {
			return nil, err
		}
		a, err := asr.Decode(b, asr.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Audio, err)
		}
		for k := -1; k < len(runs); k++ {
			r := runs[max(k, 0)]
			p, err := asr.PriorByName(prior, it.Draft)
			if err != nil {
				return nil, err
			}
			start := time.Now()
			tr, err := rec.Transcribe(ctx, a.Samples, asr.Options{Prior: p, Policy: policies[max(k, 0)], Autoregressive: r.ar, FlashBlock: r.flash})
			if err != nil {
				return nil, fmt.Errorf("%s [%s]: %w", it.Audio, r.name, err)
			}
			if k < 0 {
				continue
			}
			pt := res.points[k]
			pt.elapsed += time.Since(start)
			pt.tokens += tr.Tokens
			pt.forwards += tr.Forwards
			pt.minForwards += tr.MinForwards
			pt.items++
			pt.outputs = append(pt.outputs, tr.Text)
			if scores[k].corpus.Add(it.Text, tr.Text).Errors() == 0 {
				scores[k].exact++
			}
		}
	}
	for k, pt := range res.points {
		pt.quality = 100 * scores[k].corpus.WER()
		pt.extra = fmt.Sprintf("%.1f%%", pct(scores[k].exact, pt.items))
	}
	return res, nil
}

// benchVision captions every held-out image with each run, scored by
// exact match (the headline) and CIDEr-D against the references.
func benchVision(ctx context.Context, modelDir, dir string, runs []policyRun, limit int) ([]*taskResult, error) {
	items, err := readManifest(dir, limit, visionItem.check)
	if err != nil {
		return nil, err
	}
	eng, policies, err := openTask(modelDir, runs)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	capt, err := vision.NewCaptioner(eng)
	if err != nil {
		return nil, err
	}
	res := &taskResult{name: "vision", metric: "exact %", extraHead: "CIDEr-D", block: eng.Arch().Block}
	exact := make([]int, len(runs))
	cands := make([]map[string]string, len(runs))
	refs := map[string][]string{}
	for k, r := range runs {
		res.points = append(res.points, &policyPoint{run: r})
		cands[k] = map[string]string{}
	}
	for _, it := range items {
		b, err := os.ReadFile(filepath.Join(dir, it.Image))
		if err != nil {
			return nil, err
		}
		img, _, err := vision.Decode(b, vision.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Image, err)
		}
		refs[it.Image] = it.refs()
		for k := -1; k < len(runs); k++ {
			r := runs[max(k, 0)]
			start := time.Now()
			c, err := capt.Caption(ctx, img, vision.CaptionOptions{Policy: policies[max(k, 0)], Autoregressive: r.ar, FlashBlock: r.flash})
			if err != nil {
				return nil, fmt.Errorf("%s [%s]: %w", it.Image, r.name, err)
			}
			if k < 0 {
				continue
			}
			pt := res.points[k]
			pt.elapsed += time.Since(start)
			pt.tokens += c.Tokens
			pt.forwards += c.Forwards
			pt.minForwards += c.MinForwards
			pt.items++
			pt.outputs = append(pt.outputs, c.Text)
			cands[k][it.Image] = c.Text
			if c.Text == it.Caption {
				exact[k]++
			}
		}
	}
	for k, pt := range res.points {
		cider, _, err := vision.CIDErD(cands[k], refs)
		if err != nil {
			return nil, err
		}
		pt.quality = pct(exact[k], pt.items)
		pt.extra = fmt.Sprintf("%.3f", cider)
	}
	return []*taskResult{res}, nil
}

// openTask loads a checkpoint directory (or a bundled model's name) and
// builds the runs' policies for its block size.
func openTask(dir string, runs []policyRun) (*engine.Engine, []decode.Policy, error) {
	dir, err := modelOnDisk("model", dir)
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.New(dir, engine.Options{})
	if err != nil {
		return nil, nil, err
	}
	policies, err := runPolicies(runs, eng.Arch().Block)
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	return eng, policies, nil
}
