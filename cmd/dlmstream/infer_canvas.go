package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

// canvasFlags are infer's knobs of full-canvas decoding (LLaDA, Dream):
// the block length, AdaBlock's adaptive blocks and a variable canvas
// length (ρ-EOS or DAEDAL).
type canvasFlags struct {
	blockLen     int
	adaTau       float64
	length       string
	lengthInit   int
	rhoLo, rhoHi float64
	expand       float64
}

func addCanvasFlags(fs *flag.FlagSet) *canvasFlags {
	c := &canvasFlags{}
	fs.IntVar(&c.blockLen, "block-len", 0, "full-canvas models: semi-autoregressive block length (default 32)")
	fs.Float64Var(&c.adaTau, "adablock", 0, "full-canvas models: AdaBlock, end a block after the most confident newline predicted with probability >= this (0: fixed blocks)")
	fs.StringVar(&c.length, "length", "fixed", "full-canvas models: canvas length, fixed (--max-new), rho-eos (grow or shrink by the EOS density) or daedal (grow until the tail predicts EOS, expand low-confidence masks)")
	fs.IntVar(&c.lengthInit, "length-init", 0, "with --length rho-eos|daedal: starting canvas length (default min(64, --max-new))")
	fs.Float64Var(&c.rhoLo, "rho-lo", 0.05, "with --length rho-eos: grow the canvas while the EOS density of its masks is below this")
	fs.Float64Var(&c.rhoHi, "rho-hi", 0.5, "with --length rho-eos: shrink it while the density is above this")
	fs.Float64Var(&c.expand, "daedal-expand", 0, "with --length daedal: a mask less confident than this becomes two (0: no expansion)")
	return c
}

// block is the block a policy's schedule spans: the checkpoint's trained
// block, or on full-canvas models the canvas block (--block-len), so a
// static schedule's default is one token per step there too.
func (c *canvasFlags) block(e *engine.Engine) int {
	switch {
	case e.Arch().Block > 0:
		return e.Arch().Block
	case c.blockLen > 0:
		return c.blockLen
	}
	return decode.DefaultCanvasBlock
}

func (c *canvasFlags) set() bool {
	return c.blockLen != 0 || c.adaTau != 0 || c.length != "fixed"
}

// apply sets req.Canvas; block-causal checkpoints refuse these flags: their
// block size is the one they were trained with (their committed-block
// cache and mask are built on it), and their canvas grows a block at a
// time until a stop token anyway.
func (c *canvasFlags) apply(e *engine.Engine, req *engine.Request) error {
	if !c.set() {
		return nil
	}
	if e.Arch().Block > 0 {
		return fmt.Errorf("infer: --block-len, --adablock and --length are for full-canvas models (LLaDA, Dream); %s decodes in trained blocks of %d",
			e.Model.Config().ModelType, e.Arch().Block)
	}
	cp := &req.Canvas
	cp.BlockLen = c.blockLen
	if c.adaTau != 0 {
		if c.adaTau < 0 || c.adaTau > 1 {
			return fmt.Errorf("infer: --adablock %g: want a probability in (0, 1]", c.adaTau)
		}
		delims := newlineIDs(e)
		if len(delims) == 0 {
			return errors.New("infer: --adablock: the tokenizer has no token ending in a newline")
		}
		cp.AdaBlock = &decode.AdaBlock{Delims: delims, Tau: float32(c.adaTau)}
	}
	switch c.length {
	case "fixed":
	case "rho-eos":
		cp.Length = &decode.RhoEOS{Init: c.lengthInit, Lo: float32(c.rhoLo), Hi: float32(c.rhoHi)}
	case "daedal":
		cp.Daedal = &decode.Daedal{Init: c.lengthInit, Expand: float32(c.expand)}
	default:
		return fmt.Errorf("infer: --length %q: want fixed, rho-eos or daedal", c.length)
	}
	return nil
}

// newlineIDs are the vocabulary's tokens whose text ends in a newline:
// AdaBlock's semantic delimiters.
func newlineIDs(e *engine.Engine) []int32 {
	var ids []int32
	for id := range int32(e.Model.Config().VocabSize) {
		if b, text := e.Tok.TokenBytes(id); text && strings.HasSuffix(string(b), "\n") {
			ids = append(ids, id)
		}
	}
	return ids
}
