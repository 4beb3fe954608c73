package schema

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

var (
	tokOnce sync.Once
	tinyTok *tokenizer.Tokenizer
	tokErr  error
)

// tinyVocab is tiny-sdar's tokenizer (no model needed).
func tinyVocab(t testing.TB) (*tokenizer.Tokenizer, *vocab) {
	t.Helper()
	tokOnce.Do(func() { tinyTok, tokErr = tokenizer.Load("../../testdata/models/tiny-sdar") })
	if tokErr != nil {
		t.Fatal(tokErr)
	}
	mask, _ := tinyTok.TokenID("<|MASK|>")
	v, err := vocabOf(tinyTok, mask, 1600, "<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	return tinyTok, v
}

// schemaGen writes random schemas from the supported subset.
type schemaGen struct {
	r    *rand.Rand
	defs map[string]any
}

var genPatterns = []string{`^[A-Z]{2}[0-9]{3}$`, `^[a-z]+(-[a-z]+)*$`, `[0-9]`, `^\+?[0-9 ]{7,15}$`, `^(foo|bar)baz$`, `^[A-Z][a-z]*$`, `x`}

func (g *schemaGen) node(depth int) map[string]any {
	r := g.r
	k := r.IntN(12)
	if depth >= 3 && k < 3 {
		k += 3
	}
	var s map[string]any
	switch k {
	case 0, 1:
		props := map[string]any{}
		var order []string
		var req []string
		for i := range 1 + r.IntN(4) {
			name := fmt.Sprintf("f%d_%s", i, []string{"name", "id", "x y", "ü", "q\"t"}[r.IntN(5)])
			props[name] = g.node(depth + 1)
			order = append(order, name)
			if r.IntN(2) == 0 {
				req = append(req, name)
			}
		}
		s = map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(req) > 0 {
			s["required"] = req
		}
	case 2:
		s = map[string]any{"type": "array", "items": g.node(depth + 1)}
		mn := r.IntN(3)
		if r.IntN(2) == 0 {
			s["minItems"] = mn
		}
		if r.IntN(2) == 0 {
			s["maxItems"] = mn + r.IntN(3)
		}
	case 3, 4:
		s = map[string]any{"type": "string"}
		switch r.IntN(5) {
		case 0:
			s["maxLength"] = 1 + r.IntN(20)
		case 1:
			s["pattern"] = genPatterns[r.IntN(len(genPatterns))]
		case 2:
			s["format"] = []string{"date", "date-time", "email", "uri"}[r.IntN(4)]
		case 3:
			s["minLength"] = 1 + r.IntN(3)
			s["maxLength"] = 3 + r.IntN(10)
		}
	case 5, 6:
		typ := []string{"number", "integer"}[r.IntN(2)]
		s = map[string]any{"type": typ}
		lo := float64(r.IntN(2000)-1000) / []float64{1, 10, 100}[r.IntN(3)]
		hi := lo + float64(r.IntN(5000))/[]float64{1, 4, 10}[r.IntN(3)]
		if typ == "integer" && math.Floor(hi) < math.Ceil(lo)+1 {
			hi = lo + 3
		}
		switch r.IntN(4) {
		case 0:
			s["minimum"], s["maximum"] = lo, hi
		case 1:
			s["exclusiveMinimum"], s["maximum"] = lo, hi+1
		case 2:
			s["minimum"] = 0
			s["multipleOf"] = []float64{0.5, 0.01, 5, 0.25}[r.IntN(4)]
		}
	case 7:
		s = map[string]any{"enum": []any{"red", "green", "blue", 3, nil, "a \"q\""}[:1+r.IntN(6)]}
	case 8:
		s = map[string]any{"const": []any{"v1", 42, true, map[string]any{"k": []any{1}}}[r.IntN(4)]}
	case 9:
		s = map[string]any{"type": "boolean"}
	case 10:
		name := fmt.Sprintf("d%d", len(g.defs))
		g.defs[name] = g.node(depth + 1)
		return map[string]any{"$ref": "#/$defs/" + name}
	default:
		s = map[string]any{"type": "null"}
	}
	if t, ok := s["type"].(string); ok && t != "null" && r.IntN(4) == 0 {
		s["type"] = []any{t, "null"}
	}
	return s
}

func (g *schemaGen) schema() []byte {
	root := g.node(0)
	if r := g.r.IntN(3); r == 0 {
		root = map[string]any{"type": "object", "properties": map[string]any{"a": root, "b": g.node(1)}, "required": []string{"a"}}
	}
	if len(g.defs) > 0 {
		root["$defs"] = g.defs
	}
	b, _ := json.Marshal(root)
	return b
}

// fakeDecode unmasks the canvas in random order, a random number of
// positions per step, sampling random logits through the constraint the way
// the engine's decoder does (Restrict before sampling, Accept after the
// first commit of a step).
func fakeDecode(r *rand.Rand, v *vocab) generator {
	return func(_ context.Context, _, tmpl []int32, c decode.Constraint) ([]int32, int, error) {
		gen := append([]int32(nil), tmpl...)
		logits := make([]float32, v.size)
		steps := 0
		for {
			var masked []int
			for i, t := range gen {
				if t == v.mask {
					masked = append(masked, i)
				}
			}
			if len(masked) == 0 {
				return gen, steps, nil
			}
			steps++
			r.Shuffle(len(masked), func(i, j int) { masked[i], masked[j] = masked[j], masked[i] })
			k := 1 + r.IntN(min(len(masked), 4))
			committed := 0
			for _, p := range masked[:k] {
				for t := range logits {
					logits[t] = float32(r.NormFloat64() * 3)
				}
				if r.IntN(3) == 0 {
					logits[v.pad] += 6 // pads are likely, as with a trained model on short values
				}
				c.Restrict(gen, p, logits)
				best, bt := float32(math.Inf(-1)), int32(-1)
				for t, l := range logits {
					if l > best {
						best, bt = l, int32(t)
					}
				}
				if bt < 0 || math.IsInf(float64(best), -1) {
					return nil, steps, fmt.Errorf("no token allowed at %d", p)
				}
				if committed > 0 && !c.Accept(gen, p, bt) {
					continue
				}
				gen[p] = bt
				committed++
			}
		}
	}
}

// randomBranch scores union heads at random; the prefix must be decoded.
func randomBranch(r *rand.Rand, v *vocab) branchScorer {
	return func(_ context.Context, prefix []int32, heads [][]int32) ([]float64, int, error) {
		if slices.Contains(prefix, v.mask) {
			return nil, 0, fmt.Errorf("branch scorer's prefix holds a mask: %v", prefix)
		}
		out := make([]float64, len(heads))
		for i := range out {
			out[i] = r.NormFloat64()
		}
		return out, 1, nil
	}
}

// randomPicks chooses every union branch (outermost first) and every
// choice at random.
func randomPicks(r *rand.Rand, sc *Scaffold) {
	for u := sc.nextUnion(); u != nil; u = sc.nextUnion() {
		if err := sc.resolve(u, r.IntN(len(u.node.Branches))); err != nil {
			panic(err)
		}
	}
	for _, sl := range sc.slots {
		if sl.choice {
			sl.pick = r.IntN(len(sl.alts))
		}
	}
	sc.layout()
}

// checkRandom compiles a random schema and decodes it with random logits:
// the output must validate (or the schema must fail to compile clearly).
func checkRandom(t *testing.T, seed uint64) {
	tok, v := tinyVocab(t)
	r := rand.New(rand.NewPCG(seed, 7))
	g := &schemaGen{r: r, defs: map[string]any{}}
	src := g.schema()
	s, err := Compile(src)
	if err != nil {
		var ce *CompileError
		if !errors.As(err, &ce) || ce.Keyword == "" {
			t.Fatalf("seed %d: unclear error %v for %s", seed, err, src)
		}
		return
	}
	opts := Options{StringBudget: 2 + r.IntN(10), NumberBudget: 2 + r.IntN(6), ArrayItems: 1 + r.IntN(3)}.withDefaults()
	sc, err := newScaffold(s, tok, v, opts)
	if err != nil {
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Fatalf("seed %d: unclear error %v for %s", seed, err, src)
		}
		return
	}
	// Half the seeds pick choices up front (bidirectional models), half score
	// them in context between decoded segments (block-causal models).
	var score *scorers
	if seed%2 == 0 {
		randomPicks(r, sc)
	} else {
		sc.chooseSingles()
		sc.layout()
		score = &scorers{branch: randomBranch(r, v)}
		score.choice = func(_ context.Context, prefix []int32, sl *slot, tail []int32) (int, int, error) {
			if len(prefix) != sl.start || len(prefix)+sl.width+len(tail) != len(sc.Template) {
				return 0, 0, fmt.Errorf("scorer got prefix %d, slot %d+%d, tail %d of a %d-token canvas", len(prefix), sl.start, sl.width, len(tail), len(sc.Template))
			}
			if slices.Contains(prefix, v.mask) {
				return 0, 0, fmt.Errorf("scorer's prefix holds a mask: %v", prefix)
			}
			return r.IntN(len(sl.alts)), 1, nil
		}
	}
	res, err := sc.decode(context.Background(), s, &Result{}, fakeDecode(r, v), score)
	if err != nil {
		t.Fatalf("seed %d: %v\nschema %s\nscaffold %s", seed, err, src, sc.Render())
	}
	if err := s.Validate(res.JSON); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if res.Rounds != 1 {
		t.Errorf("seed %d: %d rounds for %s: constrained decoding should not need repair", seed, res.Rounds, res.JSON)
	}
	if testing.Verbose() && seed < 5 {
		t.Logf("%s\n  -> %s", src, res.JSON)
	}
}

func TestRandomSchemas(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 60
	}
	for seed := range uint64(n) {
		checkRandom(t, seed)
	}
}

func FuzzRandomSchema(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 1000} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkRandom(t, seed) })
}

var _ = strings.Contains
