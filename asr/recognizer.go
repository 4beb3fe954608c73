package asr

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/tokenizer"
)

// Recognizer transcribes audio with a speech checkpoint loaded in an
// engine: the front end, encoder and projector run here, on the caller's
// goroutine; the language model decodes in the engine, batched with every
// other request. Safe for concurrent use.
type Recognizer struct {
	eng    *engine.Engine
	tok    *tokenizer.Tokenizer
	Speech *Model
	Mel    *Mel

	audioTok    int32
	audioText   string
	instruction string
	stop        int32 // end-of-turn token the checkpoint emits after the transcript
	pad         int32 // padding after it to the block's end (-1 none)
}

var (
	recMu sync.Mutex
	recs  = map[*engine.Engine]*Recognizer{}
)

// For returns the engine's recognizer, built on first use (the encoder's
// tensors are read from the engine's memory map).
func For(eng *engine.Engine) (*Recognizer, error) {
	recMu.Lock()
	defer recMu.Unlock()
	if r := recs[eng]; r != nil {
		return r, nil
	}
	r, err := NewRecognizer(eng)
	if err != nil {
		return nil, err
	}
	recs[eng] = r
	return r, nil
}

// NewRecognizer reads the speech side of the engine's checkpoint.
func NewRecognizer(eng *engine.Engine) (*Recognizer, error) {
	if eng.Dir == "" || eng.Tok == nil {
		return nil, fmt.Errorf("asr: the engine has no checkpoint directory or tokenizer")
	}
	w := eng.Weights()
	if w == nil {
		return nil, fmt.Errorf("asr: %s: the engine's model holds no checkpoint weights", eng.Dir)
	}
	m, err := LoadFrom(eng.Dir, w)
	if err != nil {
		return nil, err
	}
	if m.Projector == nil {
		return nil, fmt.Errorf("asr: %s: no projector: the checkpoint's encoder is not connected to its language model", eng.Dir)
	}
	if m.Projector.OutDim() != eng.Model.Config().HiddenSize {
		return nil, fmt.Errorf("asr: %s: projector output %d differs from the language model's hidden size %d", eng.Dir, m.Projector.OutDim(), eng.Model.Config().HiddenSize)
	}
	raw, err := os.ReadFile(filepath.Join(eng.Dir, "config.json"))
	if err != nil {
		return nil, err
	}
	mc, err := MelConfigFromCheckpoint(raw)
	if err != nil {
		if mc, err = LoadMelConfig(eng.Dir); err != nil {
			return nil, err
		}
	}
	if mc.NSamples/mc.Hop != m.Encoder.Cfg.Frames() {
		return nil, fmt.Errorf("asr: %s: the front end makes %d frames, the encoder takes %d", eng.Dir, mc.NSamples/mc.Hop, m.Encoder.Cfg.Frames())
	}
	mel, err := NewMel(mc)
	if err != nil {
		return nil, err
	}
	r := &Recognizer{eng: eng, tok: eng.Tok, Speech: m, Mel: mel, pad: -1, instruction: "Transcribe the audio."}
	cc := m.Config
	r.audioText = cc.AudioToken
	if r.audioText == "" {
		r.audioText = "<|audio_pad|>"
	}
	id, ok := eng.Tok.TokenID(r.audioText)
	if cc.AudioTokenID != nil {
		id, ok = *cc.AudioTokenID, true
	}
	if !ok {
		return nil, fmt.Errorf("asr: %s: the tokenizer has no audio placeholder %q", eng.Dir, r.audioText)
	}
	if got := eng.Tok.Encode(r.audioText); len(got) != 1 || got[0] != id {
		return nil, fmt.Errorf("asr: %s: %q does not encode to the single placeholder id %d (got %v)", eng.Dir, r.audioText, id, got)
	}
	r.audioTok = id
	if ins, ok := instructionOf(cc.Prompt.User); ok {
		r.instruction = ins
	}
	if id, ok := eng.Tok.TokenID("<|im_end|>"); ok {
		r.stop = id
	}
	if id, ok := eng.Tok.TokenID("<|endoftext|>"); ok {
		r.pad = id
	}
	return r, nil
}

var instructionRE = regexp.MustCompile(`\+\s*("(?:[^"\\]|\\.)*")\s*$`)

// instructionOf reads the instruction from a checkpoint's prompt.user
// description (`<|audio_pad|>*num_audio_tokens + "Transcribe the audio."`).
func instructionOf(user string) (string, bool) {
	m := instructionRE.FindStringSubmatch(user)
	if m == nil {
		return "", false
	}
	var s string
	if json.Unmarshal([]byte(m[1]), &s) != nil {
		return "", false
	}
	return s, true
}

// finish turns draft tokens into a decode.Draft: the transcript, then the
// end-of-turn token, then padding.
func (r *Recognizer) finish(toks []int32, conf []float32) decode.Draft {
	d := decode.Draft{Tokens: append(toks[:len(toks):len(toks)], r.stop), Tail: r.pad}
	endConf := float32(1)
	if len(conf) > 0 {
		endConf = conf[len(conf)-1]
	}
	d.Conf = append(conf[:len(conf):len(conf)], endConf)
	if n := len(toks); n > 0 && toks[n-1] == r.stop { // a draft that carries its own stop
		d.Tokens, d.Conf = d.Tokens[:n], d.Conf[:n]
	}
	return d
}

// prompt is the user turn with n audio placeholders.
func (r *Recognizer) prompt(n int) []tokenizer.Message {
	return []tokenizer.Message{{Role: "user", Content: strings.Repeat(r.audioText, n) + r.instruction}}
}
