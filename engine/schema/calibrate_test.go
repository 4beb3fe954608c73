package schema

import (
	"context"
	"math"
	"slices"
	"testing"

	"dlmstream/engine/decode"
)

// TestCalibrate: calibrated scoring picks argmax log p(alt | prompt) −
// log p(alt | content-free prompt), each term as altScores gives it, and
// Extract with Calibrate returns valid JSON after the extra prior passes.
func TestCalibrate(t *testing.T) {
	e := tinyEngine(t)
	s, err := Compile([]byte(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	a := e.Arch()
	v, err := vocabOf(e.Tok, a.MaskID, a.Vocab, "<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newScaffold(s, e.Tok, v, Options{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	const input = "Invoice INV-0042, 12.50 GBP, not paid."
	prompt, _ := promptIDs(e.Tok, input, s, Options{})
	null, _ := promptIDs(e.Tok, calibrationInput, s, Options{})
	ctx := context.Background()
	checked := 0
	for _, sl := range sc.slots {
		if !sl.choice || len(sl.alts) < 2 {
			continue
		}
		prefix, tail := sc.Template[:sl.start], sc.Template[sl.start+sl.width:]
		real, _, err := altScores(ctx, e, slices.Concat(prompt, prefix), sl, tail, v.pad, v.mask)
		if err != nil {
			t.Fatal(err)
		}
		prior, _, err := altScores(ctx, e, slices.Concat(null, prefix), sl, tail, v.pad, v.mask)
		if err != nil {
			t.Fatal(err)
		}
		want, best := 0, math.Inf(-1)
		for i := range real {
			if d := real[i] - prior[i]; d > best {
				want, best = i, d
			}
		}
		pick, fwd, err := scoreCalibrated(ctx, e, prompt, null, prefix, sl, tail, v.pad, v.mask)
		if err != nil {
			t.Fatal(err)
		}
		if pick != want || fwd < 2 {
			t.Errorf("%s: pick %d in %d forwards, want %d", sl.path, pick, fwd, want)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no choice slot with alternatives")
	}
	plain, err := Extract(ctx, e, input, s, Options{Policy: decode.Threshold{Tau: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := Extract(ctx, e, input, s, Options{Policy: decode.Threshold{Tau: 0.9}, Calibrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(cal.JSON); err != nil {
		t.Fatal(err)
	}
	if cal.Forwards <= plain.Forwards {
		t.Errorf("calibrated extraction took %d forwards, plain %d: the prior passes did not run", cal.Forwards, plain.Forwards)
	}
}
