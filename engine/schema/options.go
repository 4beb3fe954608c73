package schema

import "dlmstream/engine/decode"

// Options tune a scaffold and its decoding. The zero value works.
type Options struct {
	// StringBudget is the token budget of a string slot (default 12;
	// maxLength lowers it, formats and patterns raise it to what they need).
	StringBudget int
	// NumberBudget is the token budget of a number slot (default 8).
	NumberBudget int
	// ArrayItems is how many items an array scaffolds when maxItems does
	// not fix fewer (default 3; never fewer than minItems).
	ArrayItems int
	// Repairs bounds the rounds that re-decode failing slots with twice
	// their budget (default 2).
	Repairs int
	// Pad is the token that absorbs unused slot budget (default
	// "<|endoftext|>").
	Pad string
	// Policy and Sampling are passed to the engine (any unmasking policy
	// composes with the slot constraint).
	Policy   decode.Policy
	Sampling decode.Sampling
	// Autoregressive decodes the free slots one token per forward, left to
	// right (block size 1 on the same weights): the baseline that block
	// decoding is measured against.
	Autoregressive bool
	// FlashBlock reuses each block's attention over the prompt and the
	// committed blocks across its steps (approximate; engine.Request.
	// FlashBlock): block-causal models on the CPU backend.
	FlashBlock bool
	// Canvas tunes full-canvas decoding (LLaDA, Dream; engine.Request.
	// Canvas): block length, cache, AdaBlock, and in Measure's
	// unscaffolded generation a variable length (Length, Daedal). A scaffold
	// fixes its canvas's length, so Extract decodes it without those.
	Canvas decode.CanvasParams
	// Calibrate picks enum/const/boolean alternatives by how much the input
	// raises their probability (see scoreCalibrated) rather than by their
	// probability alone, for models that score choices in context.
	Calibrate bool
	// Instruction is the system message (default: asks for JSON matching
	// the schema, which it quotes).
	Instruction string

	// canvasLimit bounds the canvas tokens optional parts may fill (the
	// model's positions after the prompt; 0: MaxCanvasTokens), set by
	// Extract and Preflight.
	canvasLimit int
}

func (o Options) withDefaults() Options {
	if o.StringBudget <= 0 {
		o.StringBudget = 12
	}
	if o.NumberBudget <= 0 {
		o.NumberBudget = 8
	}
	if o.ArrayItems <= 0 {
		o.ArrayItems = 3
	}
	if o.Repairs < 0 {
		o.Repairs = 0
	} else if o.Repairs == 0 {
		o.Repairs = 2
	}
	if o.Pad == "" {
		o.Pad = "<|endoftext|>"
	}
	return o
}

// scaffoldCanvas is Canvas without what a fixed-length canvas refuses.
func (o Options) scaffoldCanvas() decode.CanvasParams {
	c := o.Canvas
	c.Length, c.Daedal, c.Prune = nil, nil, false
	return c
}
