package schema

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"testing"
)

// decodeRandomly compiles src and decodes it n times with random logits in
// random order, unions and choices picked at random; every output must validate in the first round (the slot
// constraint alone makes it valid, no repair needed). It returns the
// outputs.
func decodeRandomly(t *testing.T, src string, n int) []string {
	t.Helper()
	tok, v := tinyVocab(t)
	s, err := Compile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 11))
		sc, err := newScaffold(s, tok, v, Options{}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		// Even seeds choose up front (bidirectional models), odd ones in
		// context between decoded segments (block-causal models).
		var score *scorers
		if seed%2 == 0 {
			randomPicks(r, sc)
		} else {
			sc.chooseSingles()
			sc.layout()
			score = &scorers{branch: randomBranch(r, v), choice: func(_ context.Context, _ []int32, sl *slot, _ []int32) (int, int, error) {
				return r.IntN(len(sl.alts)), 1, nil
			}}
		}
		res, err := sc.decode(context.Background(), s, &Result{}, fakeDecode(r, v), score)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, sc.Render())
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Rounds != 1 {
			t.Errorf("seed %d: %s needed %d rounds", seed, res.JSON, res.Rounds)
		}
		outs = append(outs, string(res.JSON))
	}
	return outs
}

// A number range strictly between two integers: the slot may not end after
// the integer part (1 is below minimum 1.5; 0 is below 0.0001).
func TestNumberRangeBetweenIntegers(t *testing.T) {
	for _, src := range []string{
		`{"type":"object","properties":{"x":{"type":"number","minimum":1.5,"maximum":1.9}},"required":["x"]}`,
		`{"type":"object","properties":{"x":{"type":"number","minimum":0.0001,"maximum":0.1}},"required":["x"]}`,
		`{"type":"object","properties":{"x":{"type":"number","exclusiveMinimum":-2,"maximum":-1.25}},"required":["x"]}`,
		`{"type":"object","properties":{"x":{"type":"number","minimum":2.5,"exclusiveMaximum":3}},"required":["x"]}`,
	} {
		t.Run(src[50:90], func(t *testing.T) { decodeRandomly(t, src, 40) })
	}
}

// Patterns whose values need JSON escapes (quote, backslash, newline, tab)
// or characters the tiny vocabulary has no token for (é, €, 名) compile and
// decode to valid values, the escapes decoded before matching.
func TestPatternEscapesAndUnicode(t *testing.T) {
	for _, c := range []struct{ name, pattern string }{
		{"backslash", `^[a-z]\\[a-z]$`},
		{"quote", `^"[a-z]{1,3}"$`},
		{"newline", `^a\nb$`},
		{"tab", `^[0-9]\t[0-9]$`},
		{"accented", `^caf[eé]{2}$`},
		{"euro", `^[0-9]{1,3}€$`},
		{"cjk", `^名[字前]$`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := `{"type":"object","properties":{"x":{"type":"string","pattern":` + jsonQuote(c.pattern) + `}},"required":["x"]}`
			for _, out := range decodeRandomly(t, src, 20) {
				t.Log(out)
			}
		})
	}
}

// Every format the compiler lays out decodes to values the validator's
// format assertion accepts.
func TestFormatsValidate(t *testing.T) {
	for f := range formatPatterns {
		t.Run(f, func(t *testing.T) {
			decodeRandomly(t, `{"type":"object","properties":{"x":{"type":"string","format":"`+f+`"}},"required":["x"]}`, 15)
		})
	}
}

// TestLongMinLength: strings with minLength past a default slot (40, 100,
// 255 code points) get slots wide enough and extract valid values.
func TestLongMinLength(t *testing.T) {
	e := tinyEngine(t)
	for _, n := range []int{40, 100, 255} {
		s, err := Compile([]byte(fmt.Sprintf(`{"type":"object","properties":{"s":{"type":"string","minLength":%d}},"required":["s"]}`, n)))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Extract(context.Background(), e, "a long text", s, Options{})
		if err != nil {
			t.Fatalf("minLength %d: %v", n, err)
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatalf("minLength %d: %s: %v", n, res.JSON, err)
		}
	}
	if _, err := Compile([]byte(`{"type":"string","minLength":256}`)); err == nil {
		t.Error("minLength 256 compiled")
	}
}

// TestFormatWithPattern: a format and a pattern on one string are both
// matched (the slot language runs both automata).
func TestFormatWithPattern(t *testing.T) {
	e := tinyEngine(t)
	for _, c := range []struct{ format, pattern, re string }{
		{"date", "^2026-", `^2026-\d\d-\d\d$`},
		{"email", "@example\\.com$", `@example\.com$`},
		{"uuid", "^[0-9a-f-]+$", `^[0-9a-f]{8}-`},
	} {
		doc, _ := json.Marshal(map[string]any{"type": "object", "required": []string{"v"},
			"properties": map[string]any{"v": map[string]any{"type": "string", "format": c.format, "pattern": c.pattern}}})
		s, err := Compile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for seed := range 2 {
			res, err := Extract(context.Background(), e, []string{"on 2026-03-05 ann@example.com", "id"}[seed], s, Options{})
			if err != nil {
				t.Fatalf("%s + %s: %v", c.format, c.pattern, err)
			}
			var out struct{ V string }
			if err := json.Unmarshal(res.JSON, &out); err != nil || !regexp.MustCompile(c.re).MatchString(out.V) {
				t.Fatalf("%s + %s: %s (%v)", c.format, c.pattern, res.JSON, err)
			}
			if err := s.Validate(res.JSON); err != nil {
				t.Fatal(err)
			}
		}
	}
}
