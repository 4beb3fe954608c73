package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"time"

	"dlmstream/engine"
)

// Case is one held-out example: an input text and, if known, the gold JSON.
type Case struct {
	Input string          `json:"input"`
	Gold  json.RawMessage `json:"output,omitempty"`
}

// Report sums Measure over cases: schema compliance, field accuracy and
// tokens per forward, scaffolded and (optionally) unscaffolded.
type Report struct {
	Attempts int      // extractions tried
	Refused  int      // extractions that returned no output (an error)
	Valid    int      // scaffolded outputs that validate
	Errors   []string // scaffolded failures: refusals and invalid outputs
	Decoded  int      // scaffolded: masked tokens decoded
	Forwards int      // scaffolded: forwards, choice scoring included
	// MinForwards is the fewest forwards any unmasking policy could have
	// taken for the same outputs (Result.MinForwards; unscaffolded: one per
	// block decoded, engine.Result.Blocks).
	MinForwards, FreeMinForwards int

	GoldFields    int // leaf values in the gold outputs
	CorrectFields int // scaffolded leaf values equal to gold

	// Unscaffolded: plain generation with the same prompt, the first JSON
	// value in the text parsed and validated.
	FreeJSON          int // outputs holding a JSON value
	FreeValid         int // outputs that validate
	FreeTokens        int
	FreeForwards      int
	FreeCorrectFields int

	// Wall time of the scaffolded extractions and of the unscaffolded
	// generations, and what each case gave (in case order; nil or "" where
	// it gave nothing), for comparisons across decoding policies.
	Elapsed, FreeElapsed time.Duration
	Outputs              [][]byte
	FreeTexts            []string
}

// Measure extracts every case with s and, if unscaffolded, also generates
// freely (MaxNewTokens: twice the scaffold's canvas) for comparison. An
// extraction that fails (a *ValidationError after the repair rounds, a
// scaffold over a limit, a context the model cannot hold) is a refusal,
// recorded in Errors, as is a failing unscaffolded generation, and the
// next case is measured; only a cancelled ctx or a malformed gold output
// stop it.
func Measure(ctx context.Context, e *engine.Engine, s *Schema, cases []Case, opts Options, unscaffolded bool) (Report, error) {
	var r Report
	for _, c := range cases {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Attempts++
		var gold map[string]string
		if len(c.Gold) > 0 {
			g, err := leaves(c.Gold)
			if err != nil {
				return r, err
			}
			gold = g
			r.GoldFields += len(gold)
		}
		start := time.Now()
		res, err := Extract(ctx, e, c.Input, s, opts)
		r.Elapsed += time.Since(start)
		canvas := 256
		var out []byte
		if err == nil && res != nil {
			out = res.JSON
		}
		r.Outputs = append(r.Outputs, out)
		if res != nil {
			r.Decoded += res.Decoded
			r.Forwards += res.Forwards
			r.MinForwards += res.MinForwards()
			canvas = max(res.Canvas, 16)
		}
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return r, err
			}
			r.Refused++
			r.Errors = append(r.Errors, err.Error())
		case s.Validate(res.JSON) != nil:
			r.Errors = append(r.Errors, "unvalidated output "+string(res.JSON))
		default:
			r.Valid++
			r.CorrectFields += matching(gold, res.JSON)
		}
		if !unscaffolded {
			continue
		}
		o := opts.withDefaults()
		prompt, err := promptIDs(e.Tok, c.Input, s, o)
		if err != nil {
			return r, err
		}
		start = time.Now()
		free, err := e.Generate(ctx, engine.Request{Tokens: prompt, MaxNewTokens: 2 * canvas, Policy: o.Policy, Sampling: o.Sampling,
			Autoregressive: o.Autoregressive, FlashBlock: o.FlashBlock, Canvas: o.Canvas})
		r.FreeElapsed += time.Since(start)
		text := ""
		if err == nil {
			text = free.Text
		}
		r.FreeTexts = append(r.FreeTexts, text)
		if err != nil {
			if ctx.Err() != nil {
				return r, err
			}
			r.Errors = append(r.Errors, "unscaffolded: "+err.Error())
			continue
		}
		r.FreeTokens += free.Tokens
		r.FreeForwards += free.Forwards
		r.FreeMinForwards += free.Blocks
		if js, ok := firstJSON(free.Text); ok {
			r.FreeJSON++
			if s.Validate(js) == nil {
				r.FreeValid++
			}
			r.FreeCorrectFields += matching(gold, js)
		}
	}
	return r, nil
}

// firstJSON is the first JSON object or array in text.
func firstJSON(text string) ([]byte, bool) {
	for i := 0; i < len(text); i++ {
		if text[i] != '{' && text[i] != '[' {
			continue
		}
		var v json.RawMessage
		if json.NewDecoder(strings.NewReader(text[i:])).Decode(&v) == nil {
			return v, true
		}
	}
	return nil, false
}

// leaves flattens JSON to pointer -> compact leaf value.
func leaves(data []byte) (map[string]string, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(ptrJoin(p, k), x)
			}
		case []any:
			for i, x := range v {
				walk(p+"/"+itoa(i), x)
			}
		case json.Number: // 12.5 and 12.50 are the same value
			if r, ok := new(big.Rat).SetString(v.String()); ok {
				out[p] = r.RatString()
			}
		default:
			b, _ := json.Marshal(v)
			out[p] = string(b)
		}
	}
	walk("", v)
	return out, nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// matching counts gold leaves that out reproduces exactly.
func matching(gold map[string]string, out []byte) int {
	if len(gold) == 0 {
		return 0
	}
	got, err := leaves(out)
	if err != nil {
		return 0
	}
	n := 0
	for p, v := range gold {
		if got[p] == v {
			n++
		}
	}
	return n
}
