package schema

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/tokenizer"
)

// Result is one extraction.
type Result struct {
	// JSON is the compact output; it validates against the schema.
	JSON []byte
	// Rounds is 1 plus the repair rounds that were needed.
	Rounds int
	// Canvas is the scaffold's length in tokens (last round); Decoded the
	// masked tokens the engine decoded over all rounds.
	Canvas, Decoded int
	// Forwards counts forward passes over all rounds, the scoring forwards
	// of enum/const/boolean choices included.
	Forwards int
	// genForwards and genBlocks are the decoder's share of Forwards and
	// the blocks it took a step in (engine.Result.Blocks).
	genForwards, genBlocks int
}

// MinForwards is the fewest forwards any unmasking policy could take for
// this output: the scoring forwards, and one per block of the canvas that
// held a mask.
func (r *Result) MinForwards() int { return r.Forwards - r.genForwards + r.genBlocks }

// ValidationError is returned when the output still fails validation after
// the repair rounds.
type ValidationError struct {
	Pointer string // instance JSON pointer of the first failure
	Msg     string
	Output  string // the last (invalid) output
}

func (e *ValidationError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("schema: output invalid at %s: %s", p, e.Msg)
}

// Extract asks e for JSON that validates against s, describing input. The
// schema's structure is fixed in the canvas, enum/const/boolean values are
// chosen by scoring their alternatives under the model, and free values
// (strings, numbers) are decoded by the engine under a constraint that
// keeps every slot completable. The result is validated; slots at failing
// locations are re-decoded with twice the budget for up to opts.Repairs
// rounds, after which a *ValidationError names the failing pointer. A
// prompt and canvas longer than the model's max_position_embeddings, or
// needing more KV memory than the engine's budget, are refused before any
// forward with a *CanvasError (see Preflight).
func Extract(ctx context.Context, e *engine.Engine, input string, s *Schema, opts Options) (*Result, error) {
	if e.Tok == nil {
		return nil, errors.New("schema: the engine has no tokenizer")
	}
	opts = opts.withDefaults()
	a := e.Arch()
	v, err := vocabOf(e.Tok, a.MaskID, a.Vocab, opts.Pad)
	if err != nil {
		return nil, err
	}
	prompt, err := promptIDs(e.Tok, input, s, opts)
	if err != nil {
		return nil, err
	}
	if err := promptFits(e, len(prompt)); err != nil {
		return nil, err
	}
	opts.canvasLimit = canvasRoom(e, len(prompt))
	sc, err := newScaffold(s, e.Tok, v, opts)
	if err != nil {
		return nil, err
	}
	// Pre-flight: a request the engine cannot hold is refused before any
	// forward (a union's branch is counted at its largest).
	if _, err := sc.preflight(e, len(prompt)); err != nil {
		return nil, err
	}
	res := &Result{}
	gen := func(ctx context.Context, prefix, template []int32, c decode.Constraint) ([]int32, int, error) {
		r, err := e.Generate(ctx, engine.Request{Tokens: slices.Concat(prompt, prefix), Template: template, Constraint: c,
			Policy: opts.Policy, Sampling: opts.Sampling, MaxNewTokens: len(template), Autoregressive: opts.Autoregressive, FlashBlock: opts.FlashBlock,
			Canvas: opts.scaffoldCanvas()})
		res.genForwards += r.Forwards
		res.genBlocks += r.Blocks
		return r.TokenIDs, r.Forwards, err
	}
	var score *scorers
	branch := func(ctx context.Context, prefix []int32, heads [][]int32) ([]float64, int, error) {
		return headScores(ctx, e, slices.Concat(prompt, prefix), heads, sc.v.mask)
	}
	switch {
	case !sc.needsScoring():
		sc.choose(nil)
	case inContext(e.Model.Traits().Mask):
		sc.chooseSingles()
		var null []int32
		if opts.Calibrate {
			if null, err = promptIDs(e.Tok, calibrationInput, s, opts); err != nil {
				return nil, err
			}
		}
		score = &scorers{choice: func(ctx context.Context, prefix []int32, sl *slot, tail []int32) (int, int, error) {
			if null == nil {
				return scoreInContext(ctx, e, slices.Concat(prompt, prefix), sl, tail, sc.v.pad, sc.v.mask)
			}
			return scoreCalibrated(ctx, e, prompt, null, prefix, sl, tail, sc.v.pad, sc.v.mask)
		}, branch: branch}
	default:
		// Bidirectional: unions are chosen on the masked canvas before
		// them, outermost and first first, then every choice in one
		// forward.
		for u := sc.nextUnion(); u != nil; u = sc.nextUnion() {
			f, err := sc.chooseBranch(ctx, u, sc.Template[:u.at], branch)
			res.Forwards += f
			if err != nil {
				return nil, err
			}
		}
		lp, err := scoreForward(ctx, e.Model, prompt, sc.Template, sc.scoredPositions())
		if err != nil {
			return nil, err
		}
		res.Forwards++
		sc.choose(lp)
	}
	sc.layout()
	return sc.decode(ctx, s, res, gen, score)
}

// generator decodes a canvas segment after the prompt and prefix (canvas
// tokens already decoded): the engine, or a fake in tests.
type generator func(ctx context.Context, prefix, template []int32, c decode.Constraint) (gen []int32, forwards int, err error)

func errShortCanvas(got, want int) error {
	return fmt.Errorf("schema: decoder returned %d tokens for a %d-token canvas", got, want)
}

// decode runs the rounds: decode the free slots, assemble, validate,
// re-decode failing slots.
// With score, the first round scores the unpicked choices in context
// (decodeInContext).
func (sc *Scaffold) decode(ctx context.Context, s *Schema, res *Result, gen generator, score *scorers) (*Result, error) {
	var last *ValidationError
	for round := 0; round <= sc.opts.Repairs; round++ {
		res.Rounds = round + 1
		res.Canvas = len(sc.Template)
		out := sc.Template
		switch masked := sc.masked(); {
		case round == 0 && score != nil:
			g, dec, fwd, err := sc.decodeInContext(ctx, gen, score)
			if err != nil {
				return res, err
			}
			res.Forwards += fwd
			res.Decoded += dec
			out = g
			sc.layout()
		case masked > 0:
			g, fwd, err := gen(ctx, nil, sc.Template, newConstraint(sc))
			if err != nil {
				return res, err
			}
			if len(g) != len(sc.Template) {
				return res, errShortCanvas(len(g), len(sc.Template))
			}
			res.Forwards += fwd
			res.Decoded += masked
			out = g
		}
		text, where, bad, err := sc.assemble(out)
		if err != nil {
			return res, err
		}
		ptrs, msg, err := s.check(text)
		if err != nil {
			return res, err
		}
		if len(ptrs) == 0 && len(bad) == 0 {
			res.JSON = []byte(text)
			return res, nil
		}
		if len(ptrs) == 0 {
			ptrs, msg = []string{where[bad[0]]}, "incomplete value"
		}
		last = &ValidationError{Pointer: ptrs[0], Msg: msg, Output: text}
		if !sc.repair(out, where, ptrs, bad) {
			break
		}
		if room := sc.opts.canvasLimit; room > 0 && len(sc.Template) > room {
			// The widened slots would run past the model's positions.
			last.Msg += fmt.Sprintf(" (no repair: its canvas of %d tokens would not fit the %d positions left after the prompt)", len(sc.Template), room)
			break
		}
	}
	return res, last
}

func (sc *Scaffold) masked() int { return sc.v.masks(sc.Template) }

// masks counts the mask tokens in toks.
func (v *vocab) masks(toks []int32) int {
	n := 0
	for _, t := range toks {
		if t == v.mask {
			n++
		}
	}
	return n
}

// repair keeps the tokens of slots outside the failing pointers and widens
// the failing ones; false if no free slot can change.
func (sc *Scaffold) repair(out []int32, where map[*slot]string, ptrs []string, bad []*slot) bool {
	changed := false
	for _, sl := range sc.slots {
		if sl.choice {
			continue
		}
		fails := slices.Contains(bad, sl)
		for _, p := range ptrs {
			w, ok := where[sl]
			if ok && (w == p || strings.HasPrefix(w, p+"/") || p == "") || !ok && strings.HasPrefix(sl.path, p) {
				fails = true
			}
		}
		if fails && sl.width < maxSlotWidth {
			sl.keep = nil
			sl.width = min(maxSlotWidth, 2*sl.width)
			changed = true
		} else {
			sl.keep = slices.Clone(out[sl.start : sl.start+sl.width])
		}
	}
	sc.layout()
	return changed
}

// check validates text; it returns the failing instance pointers.
func (s *Schema) check(text string) ([]string, string, error) {
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return []string{""}, "not JSON: " + err.Error(), nil
	}
	err = s.validator.Validate(inst)
	if err == nil {
		return nil, "", nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, "", err
	}
	var ptrs []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			p := ""
			for _, t := range e.InstanceLocation {
				p = ptrJoin(p, t)
			}
			ptrs = append(ptrs, p)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(ptrs) == 0 {
		ptrs = []string{""}
	}
	return ptrs, strings.ReplaceAll(ve.Error(), "\n", "; "), nil
}

// Validate reports whether data (JSON) validates against s.
func (s *Schema) Validate(data []byte) error {
	ptrs, msg, err := s.check(string(data))
	if err != nil {
		return err
	}
	if len(ptrs) > 0 {
		return &ValidationError{Pointer: ptrs[0], Msg: msg, Output: string(data)}
	}
	return nil
}

const defaultInstruction = "Extract the information in the user's text as JSON that validates against this JSON Schema:\n"

func promptIDs(tok *tokenizer.Tokenizer, input string, s *Schema, opts Options) ([]int32, error) {
	sys := opts.Instruction
	if sys == "" {
		root, _ := parseJSON(s.Source)
		sys = defaultInstruction + root.compact()
	}
	text, err := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "system", Content: sys}, {Role: "user", Content: input}},
		tokenizer.ChatOptions{AddGenerationPrompt: true})
	if err != nil {
		// Tokenizers without a chat template: plain text.
		text = sys + "\n\n" + input + "\n\n"
	}
	return tok.Encode(text), nil
}

// chooseSingles picks the choices that have one alternative; the others
// stay unpicked for decodeInContext.
func (sc *Scaffold) chooseSingles() {
	for _, sl := range sc.slots {
		if sl.choice {
			sl.pick = -1
			if len(sl.alts) < 2 {
				sl.pick = 0
			}
		}
	}
}

func (sc *Scaffold) needsScoring() bool {
	if len(sc.unions) > 0 {
		return true
	}
	for _, sl := range sc.slots {
		if sl.choice && len(sl.alts) > 1 {
			return true
		}
	}
	return false
}

// scoredPositions lists the canvas positions of choices to score.
func (sc *Scaffold) scoredPositions() []int {
	var pos []int
	for _, sl := range sc.slots {
		if sl.choice && len(sl.alts) > 1 {
			for i := range sl.width {
				pos = append(pos, sl.start+i)
			}
		}
	}
	return pos
}

// choose picks each choice's alternative: the one with the largest summed
// log-probability over the slot's positions, padded with the pad token to
// the slot's width (mean-field scoring on the fully masked canvas: every
// alternative is scored by the same forward, and equal widths make the
// sums comparable). lp maps a canvas position to its log-softmax row.
func (sc *Scaffold) choose(lp map[int][]float32) {
	for _, sl := range sc.slots {
		if !sl.choice {
			continue
		}
		sl.pick = 0
		if len(sl.alts) < 2 || lp == nil {
			continue
		}
		best := math.Inf(-1)
		for i, alt := range sl.alts {
			score := 0.0
			for j := range sl.width {
				t := sc.v.pad
				if j < len(alt) {
					t = alt[j]
				}
				if row := lp[sl.start+j]; int(t) < len(row) {
					score += float64(row[t])
				}
			}
			if score > best {
				best, sl.pick = score, i
			}
		}
	}
}

// scoreForward runs prompt ++ canvas once and returns log-softmax rows for
// the canvas positions asked (shifted models read row p-1 for position p).
func scoreForward(ctx context.Context, m model.Model, prompt, canvas []int32, pos []int) (map[int][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := m.Config()
	tr := m.Traits()
	seq := slices.Concat(prompt, canvas)
	cache := m.NewPool(0).NewSequence() // one forward's rows, reserved below
	defer cache.Free()
	if err := cache.Reserve(len(seq)); err != nil {
		return nil, err
	}
	rows := make([]int, len(pos))
	for i, p := range pos {
		rows[i] = len(prompt) + p
		if tr.Shifted {
			rows[i]--
		}
	}
	V := cfg.VocabSize
	logits := make([]float32, len(rows)*V)
	if err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: seq, Pos: 0, Mask: tr.Mask, Cache: cache, LogitRows: rows, Logits: logits}}}); err != nil {
		return nil, err
	}
	out := make(map[int][]float32, len(pos))
	for i, p := range pos {
		row := logits[i*V : (i+1)*V]
		logSoftmax(row)
		out[p] = row
	}
	return out, nil
}

func logSoftmax(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	sum := 0.0
	for _, v := range x {
		sum += math.Exp(float64(v - mx))
	}
	l := float32(math.Log(sum)) + mx
	for i := range x {
		x[i] -= l
	}
}
