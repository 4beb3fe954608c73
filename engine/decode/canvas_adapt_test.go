package decode_test

import (
	"fmt"
	"math"
	"testing"

	"dlmstream/engine/decode"
)

// A hand-made vocabulary for the adaptive-canvas rules: 10 ids, 9 the mask,
// 8 the EOS, 7 the delimiter ("\n"), 3 an ordinary token.
const (
	fV     = 10
	fMask  = 9
	fEOS   = 8
	fDelim = 7
	fTok   = 3
)

var fArch = decode.Arch{Block: 1, MaskID: fMask, Vocab: fV}

// fRow is a logit row [fV] whose softmax, the mask excluded, gives each id
// in probs its probability and spreads the rest evenly over the other ids.
func fRow(probs map[int32]float32) []float32 {
	rest := float32(1)
	for _, p := range probs {
		rest -= p
	}
	other := rest / float32(fV-1-len(probs))
	row := make([]float32, fV)
	for id, p := range probs {
		row[id] = float32(math.Log(float64(p / other)))
	}
	return row
}

// fakeRun drives s (unshifted) with logits from logit(pos, L): the row
// predicting canvas position pos on a canvas of L positions. It returns the
// works asked for and the canvas length each one saw.
func fakeRun(t *testing.T, s decode.Sequence, logit func(pos, L int) []float32) (works []decode.Work, lens []int) {
	t.Helper()
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("no end after 1000 forwards")
		}
		w, ok := s.Next()
		if !ok {
			return works, lens
		}
		L := w.KeyLen
		if L == 0 {
			L = w.Pos + len(w.Tokens)
		}
		works, lens = append(works, w), append(lens, L)
		logits := make([]float32, 0, len(w.LogitRows)*fV)
		for _, r := range w.LogitRows {
			logits = append(logits, logit(w.Pos+r, L)...)
		}
		s.Apply(logits)
	}
}

var fPrompt = []int32{1, 2}

// AdaBlock ends the first block just after the most confident delimiter in
// the window when one reaches Tau, otherwise at BlockLen.
func TestCanvasAdaBlock(t *testing.T) {
	P := len(fPrompt)
	logit := func(pos, L int) []float32 { // delimiters at offsets 3 (0.7) and 5 (0.9)
		switch pos - P {
		case 3:
			return fRow(map[int32]float32{fDelim: 0.7})
		case 5:
			return fRow(map[int32]float32{fDelim: 0.9})
		}
		return fRow(map[int32]float32{fTok: 0.5})
	}
	for _, tt := range []struct {
		name  string
		ab    *decode.AdaBlock
		first int // first block's length
	}{
		{"off", nil, 8},
		{"most confident delimiter", &decode.AdaBlock{Delims: []int32{fDelim}, Tau: 0.6}, 6},
		{"only one over tau", &decode.AdaBlock{Delims: []int32{fDelim}, Tau: 0.65, Window: 5}, 4},
		{"none over tau", &decode.AdaBlock{Delims: []int32{fDelim}, Tau: 0.95}, 8},
		{"other delimiter", &decode.AdaBlock{Delims: []int32{fEOS}, Tau: 0.6}, 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var blocks []int
			p := decode.CanvasParams{Params: decode.Params{MaxNew: 16, OnBlock: func(b []int32) { blocks = append(blocks, len(b)) }},
				BlockLen: 8, AdaBlock: tt.ab}
			s, err := decode.NewCanvas(fArch, fPrompt, p)
			if err != nil {
				t.Fatal(err)
			}
			fakeRun(t, s, logit)
			if len(blocks) == 0 || blocks[0] != tt.first {
				t.Fatalf("blocks %v, want the first of %d", blocks, tt.first)
			}
			if len(s.Output()) != 16 {
				t.Errorf("output %d tokens, want 16", len(s.Output()))
			}
		})
	}
}

// ρ-EOS shrinks the canvas when the EOS density over the masks is high,
// grows it by a chunk when low, and leaves it between the bounds.
func TestCanvasRhoEOS(t *testing.T) {
	P := len(fPrompt)
	for _, tt := range []struct {
		name        string
		pEOS        float32
		length      *decode.RhoEOS
		first, last int // canvas lengths at the first and last forwards
	}{
		{"off", 0.4, nil, 32, 32},
		{"dense shrinks", 0.4, &decode.RhoEOS{Init: 8, Chunk: 4, Lo: 0.1, Hi: 0.3}, 8, 4},
		{"sparse grows", 0.01, &decode.RhoEOS{Init: 8, Chunk: 4, Lo: 0.1, Hi: 0.3}, 8, 32},
		{"between stays", 0.2, &decode.RhoEOS{Init: 8, Chunk: 4, Lo: 0.1, Hi: 0.3}, 8, 8},
	} {
		for _, cache := range []decode.CacheKind{decode.NoCanvasCache, decode.PrefixCache, decode.DualCache} {
			t.Run(tt.name, func(t *testing.T) {
				logit := func(pos, L int) []float32 { return fRow(map[int32]float32{fTok: 0.55, fEOS: tt.pEOS}) }
				p := decode.CanvasParams{Params: decode.Params{MaxNew: 32, Stop: []int32{fEOS}}, BlockLen: 4, Length: tt.length, Cache: cache}
				s, err := decode.NewCanvas(fArch, fPrompt, p)
				if err != nil {
					t.Fatal(err)
				}
				works, lens := fakeRun(t, s, logit)
				if lens[0] != P+tt.first || lens[len(lens)-1] != P+tt.last {
					t.Fatalf("canvas lengths %v, want from %d to %d", lens, P+tt.first, P+tt.last)
				}
				if len(s.Output()) != tt.last {
					t.Errorf("output %d tokens, want %d", len(s.Output()), tt.last)
				}
				staleRefresh(t, cache, works, lens)
			})
		}
	}
}

// staleRefresh checks that a dual cache is refreshed whenever the canvas
// length changed since the last forward.
func staleRefresh(t *testing.T, cache decode.CacheKind, works []decode.Work, lens []int) {
	t.Helper()
	for i := 1; i < len(works) && cache == decode.DualCache; i++ {
		if lens[i] != lens[i-1] && !works[i].Store {
			t.Fatalf("forward %d: canvas %d -> %d without a dual-cache refresh", i, lens[i-1], lens[i])
		}
	}
}

// DAEDAL stage 1 appends chunks until the tail predicts EOS; stage 2 turns
// a very unconfident mask into several.
func TestCanvasDaedal(t *testing.T) {
	P := len(fPrompt)
	answer := func(pos, L int) []float32 { // a 12-token answer, then EOS
		if pos-P >= 12 {
			return fRow(map[int32]float32{fEOS: 0.9})
		}
		return fRow(map[int32]float32{fTok: 0.9})
	}
	unsure := func(pos, L int) []float32 { // offset 2 is unsure of everything
		if pos-P == 2 {
			return fRow(map[int32]float32{fTok: 0.15})
		}
		return fRow(map[int32]float32{fTok: 0.9, fEOS: 0.01})
	}
	for _, tt := range []struct {
		name     string
		logit    func(pos, L int) []float32
		maxNew   int
		d        *decode.Daedal
		maxLen   int // the largest canvas seen
		out      int
		forwards int // one token per step over the final canvas, plus stage-1 rounds
	}{
		{"off", answer, 32, nil, 32, 13, 32},
		{"tail EOS low grows", answer, 32, &decode.Daedal{Init: 4, Chunk: 4, Tail: 2}, 16, 13, 3 + 16},
		{"tau never met", answer, 32, &decode.Daedal{Init: 4, Chunk: 4, Tail: 2, Tau: 0.95}, 32, 13, 7 + 32},
		{"no expansion off", unsure, 12, &decode.Daedal{Init: 8, Tau: 1e-6, Factor: 3}, 8, 8, 8},
		{"low confidence expands", unsure, 12, &decode.Daedal{Init: 8, Tau: 1e-6, Expand: 0.2, Factor: 3}, 12, 12, 12},
		{"not below expand", unsure, 12, &decode.Daedal{Init: 8, Tau: 1e-6, Expand: 0.1, Factor: 3}, 8, 8, 8},
	} {
		for _, cache := range []decode.CacheKind{decode.NoCanvasCache, decode.PrefixCache, decode.DualCache} {
			t.Run(tt.name, func(t *testing.T) {
				p := decode.CanvasParams{Params: decode.Params{MaxNew: tt.maxNew, Stop: []int32{fEOS}}, BlockLen: 32, Daedal: tt.d, Cache: cache}
				s, err := decode.NewCanvas(fArch, fPrompt, p)
				if err != nil {
					t.Fatal(err)
				}
				works, lens := fakeRun(t, s, tt.logit)
				if got := lens[len(lens)-1]; got != P+tt.maxLen {
					t.Fatalf("canvas lengths %v, want up to %d", lens, P+tt.maxLen)
				}
				if len(s.Output()) != tt.out || s.Forwards() != tt.forwards {
					t.Errorf("output %d tokens in %d forwards, want %d in %d", len(s.Output()), s.Forwards(), tt.out, tt.forwards)
				}
				staleRefresh(t, cache, works, lens)
			})
		}
	}
}

// Variable length refuses what fixes or cuts the length.
func TestCanvasAdaptiveRefusals(t *testing.T) {
	stop := []int32{fEOS}
	for _, tt := range []struct {
		name string
		p    decode.CanvasParams
	}{
		{"length with template", decode.CanvasParams{Params: decode.Params{Stop: stop, Template: []int32{fMask, fMask}}, Length: &decode.RhoEOS{}}},
		{"daedal with template", decode.CanvasParams{Params: decode.Params{Stop: stop, Template: []int32{fMask, fMask}}, Daedal: &decode.Daedal{}}},
		{"length and daedal", decode.CanvasParams{Params: decode.Params{MaxNew: 8, Stop: stop}, Length: &decode.RhoEOS{}, Daedal: &decode.Daedal{}}},
		{"daedal with prune", decode.CanvasParams{Params: decode.Params{MaxNew: 8, Stop: stop}, Daedal: &decode.Daedal{}, Prune: true}},
		{"length without EOS ids", decode.CanvasParams{Params: decode.Params{MaxNew: 8}, Length: &decode.RhoEOS{}}},
		{"adablock without delimiters", decode.CanvasParams{Params: decode.Params{MaxNew: 8}, AdaBlock: &decode.AdaBlock{Tau: 0.5}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decode.NewCanvas(fArch, fPrompt, tt.p); err == nil {
				t.Error("no error")
			}
		})
	}
}

// Variable-length full-canvas decoding: ρ-EOS starts at 8 masks and grows
// or shrinks by 4 at each block start, never past MaxNew; AdaBlock ends a
// block after a confident delimiter.
func ExampleRhoEOS() {
	p := decode.CanvasParams{
		Params:   decode.Params{MaxNew: 32, Stop: []int32{fEOS}},
		BlockLen: 4,
		Length:   &decode.RhoEOS{Init: 8, Chunk: 4, Lo: 0.1, Hi: 0.3},
		AdaBlock: &decode.AdaBlock{Delims: []int32{fDelim}, Tau: 0.9},
		Cache:    decode.DualCache,
	}
	s, err := decode.NewCanvas(fArch, fPrompt, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	for { // a stand-in model: every position sure of token 3, EOS unlikely
		w, ok := s.Next()
		if !ok {
			break
		}
		var logits []float32
		for range w.LogitRows {
			logits = append(logits, fRow(map[int32]float32{fTok: 0.95, fEOS: 0.01})...)
		}
		s.Apply(logits)
	}
	fmt.Println(len(s.Output()), "tokens in", s.Forwards(), "forwards")
	// Output: 32 tokens in 32 forwards
}
