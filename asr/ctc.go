package asr

import (
	"fmt"
	"strings"

	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// CTCConfig is the "ctc" block of a speech checkpoint's config.json: the
// labels of a CTC head on the encoder output.
type CTCConfig struct {
	Vocab   []string `json:"vocab"`
	BlankID int      `json:"blank_id"`
}

// CTC is a linear CTC head on the encoder states (the ASR prior of
// prior-guided decoding). C = len(Vocab).
type CTC struct {
	W     *model.Matrix // [C, D]
	B     []float32     // [C]
	Vocab []string
	Blank int
}

func loadCTC(w *model.Weights, c CTCConfig, d int) (*CTC, error) {
	if len(c.Vocab) < 2 || c.BlankID < 0 || c.BlankID >= len(c.Vocab) {
		return nil, fmt.Errorf("ctc: %d labels with blank id %d", len(c.Vocab), c.BlankID)
	}
	m, err := w.Matrix("ctc_head.weight", len(c.Vocab), d)
	if err != nil {
		return nil, err
	}
	b, err := w.Vector("ctc_head.bias", len(c.Vocab))
	if err != nil {
		return nil, err
	}
	return &CTC{W: m, B: b, Vocab: c.Vocab, Blank: c.BlankID}, nil
}

// Logits maps encoder states [T, D] to CTC logits [T, C].
func (c *CTC) Logits(enc []float32, T int) []float32 {
	out := make([]float32, T*c.W.Rows)
	c.W.MatMul(out, enc[:T*c.W.Cols], T)
	cpu.AddBias(out, c.B, T)
	return out
}

// CTCHypothesis is a greedy CTC decoding with per-character evidence.
type CTCHypothesis struct {
	Text  string
	Chars []CTCChar // one per byte of Text
}

// CTCChar is one emitted label: the frames it spans and its confidence, the
// highest posterior it had over those frames.
type CTCChar struct {
	Label      string
	Start, End int // encoder frames [Start, End)
	Conf       float32
}

// Greedy decodes logits [T, C] best path: argmax per frame, repeats
// collapsed, blanks dropped, runs of spaces (and leading/trailing spaces)
// collapsed as tools/train/speech/model.py's ctc_greedy does.
func (c *CTC) Greedy(logits []float32, T int) CTCHypothesis {
	C := len(c.Vocab)
	var chars []CTCChar
	prev := -1
	probs := make([]float32, C)
	for t := 0; t < T; t++ {
		copy(probs, logits[t*C:(t+1)*C])
		cpu.Softmax(probs)
		best := 0
		for j := 1; j < C; j++ {
			if probs[j] > probs[best] {
				best = j
			}
		}
		switch {
		case best == c.Blank:
		case best == prev && len(chars) > 0:
			last := &chars[len(chars)-1]
			last.End = t + 1
			last.Conf = max(last.Conf, probs[best])
		default:
			chars = append(chars, CTCChar{Label: c.Vocab[best], Start: t, End: t + 1, Conf: probs[best]})
		}
		prev = best
	}
	// Collapse whitespace, keeping each kept char's evidence.
	var out []CTCChar
	for _, ch := range chars {
		if strings.TrimSpace(ch.Label) == "" {
			if len(out) == 0 || out[len(out)-1].Label == " " {
				continue
			}
			ch.Label = " "
		}
		out = append(out, ch)
	}
	for len(out) > 0 && out[len(out)-1].Label == " " {
		out = out[:len(out)-1]
	}
	var sb strings.Builder
	var per []CTCChar
	for _, ch := range out {
		for range len(ch.Label) {
			per = append(per, ch)
		}
		sb.WriteString(ch.Label)
	}
	return CTCHypothesis{Text: sb.String(), Chars: per}
}
