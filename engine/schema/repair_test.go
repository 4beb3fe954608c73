package schema

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"dlmstream/engine/decode"
)

// TestRepair: a decoder that ignores the constraint in the first round
// writes an out-of-range integer; the repair round re-decodes only that
// slot, with twice the budget, and keeps the string slot's tokens.
func TestRepair(t *testing.T) {
	tok, v := tinyVocab(t)
	s, err := Compile([]byte(`{"type":"object","properties":{"a":{"type":"integer","minimum":5},"b":{"type":"string"}},"required":["a","b"]}`))
	if err != nil {
		t.Fatal(err)
	}
	one := tok.Encode("1")[0]
	for _, never := range []bool{false, true} {
		sc, err := newScaffold(s, tok, v, Options{NumberBudget: 3, StringBudget: 4}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		a, b := sc.slots[0], sc.slots[1]
		r := rand.New(rand.NewPCG(1, 2))
		fake := fakeDecode(r, v)
		var firstB []int32
		rounds := 0
		gen := func(ctx context.Context, prefix, tmpl []int32, c decode.Constraint) ([]int32, int, error) {
			rounds++
			out, n, err := fake(ctx, prefix, tmpl, c)
			if err != nil {
				return nil, 0, err
			}
			if rounds == 1 || never {
				out[a.start] = one // "1": below the minimum, ignoring the constraint
				for i := 1; i < a.width; i++ {
					out[a.start+i] = v.pad
				}
			}
			if rounds == 1 {
				firstB = slices.Clone(out[b.start : b.start+b.width])
			}
			return out, n, nil
		}
		res, err := sc.decode(context.Background(), s, &Result{}, gen, nil)
		if never {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Pointer != "/a" {
				t.Fatalf("never valid: error %v, want a ValidationError at /a", err)
			}
			if rounds != 3 {
				t.Fatalf("%d rounds, want 1 + 2 repairs", rounds)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.Rounds != 2 || a.width != 6 || b.width != 4 {
			t.Fatalf("rounds %d, widths a %d b %d", res.Rounds, a.width, b.width)
		}
		if got := sc.Template[b.start : b.start+b.width]; !slices.Equal(got, firstB) {
			t.Fatalf("string slot re-decoded: %v, first round %v", got, firstB)
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChoose: alternatives are scored over the slot's whole width, pads
// included.
func TestChoose(t *testing.T) {
	tok, v := tinyVocab(t)
	s, err := Compile([]byte(`{"enum":["red","green","blue"]}`))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newScaffold(s, tok, v, Options{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	sl := sc.slots[0]
	lp := map[int][]float32{}
	for _, p := range sc.scoredPositions() {
		lp[p] = make([]float32, v.size)
		for i := range lp[p] {
			lp[p][i] = -20
		}
	}
	// Favour "green" token by token.
	for j, id := range sl.alts[1] {
		lp[sl.start+j][id] = 0
	}
	for j := len(sl.alts[1]); j < sl.width; j++ {
		lp[sl.start+j][v.pad] = 0
	}
	sc.choose(lp)
	if sl.pick != 1 {
		t.Fatalf("picked %d (%s)", sl.pick, sl.altText[sl.pick])
	}
	sc.layout()
	text, _, _, err := sc.assemble(sc.Template)
	if err != nil || text != `"green"` {
		t.Fatalf("%q %v", text, err)
	}
}
