package decode

import (
	"fmt"
	"math"

	"dlmstream/engine/model"
)

// IterSmooth is dInfer's soft iteration ("iteration smoothing";
// dllm-engine-spec.md section 5). A position still masked after a step does
// not go back into the next forward as the bare mask embedding: its input is
//
//	E[mask] + w_t · Σ_k softmax(logits/Temp)_k · E[k]   (E: [vocab, hidden])
//
// so the model sees what it believed there, with a weight w_t = min(WMax,
// W0 + WStep·t) growing with the block's step t. The commit rule is the
// threshold (Fast-dLLM v1 form) with a bar that decays from Start by Decay
// per step down to Tau. dInfer's values are DefaultIterSmooth's.
//
// The soft inputs need the model's token embeddings: Params.Embedder (the
// engine sets it from a model implementing model.TokenEmbedder). Block
// decoding only; it composes with constraints (the mixture is taken over
// the restricted logits), templates and every block-cache mode, not with
// row summaries (it needs each row's distribution).
type IterSmooth struct {
	Tau, Start, Decay float32 // bar: max(Tau, Start - Decay·t)
	W0, WStep, WMax   float32 // soft weight: min(WMax, W0 + WStep·t)
	Temp              float32 // softmax temperature of the mixture (0: 1)
}

// DefaultIterSmooth has dInfer's schedule: the bar from 1.0 down by 0.02 a
// step to tau, the weight from 0.15 up by 0.02 a step to 0.3.
func DefaultIterSmooth(tau float32) IterSmooth {
	return IterSmooth{Tau: tau, Start: 1, Decay: 0.02, W0: 0.15, WStep: 0.02, WMax: 0.3, Temp: 1}
}

// Bar is the threshold at block step t.
func (p IterSmooth) Bar(t int) float32 { return max(p.Tau, p.Start-p.Decay*float32(t)) }

// Weight is the soft-input weight after block step t.
func (p IterSmooth) Weight(t int) float32 { return min(p.WMax, p.W0+p.WStep*float32(t)) }

func (p IterSmooth) Select(c *Candidates) []int { return Threshold{Tau: p.Bar(c.Step)}.Select(c) }

// softTail is the mixture weight below which a token's embedding row is
// not read: at w ≤ 0.3 its share of the input is under 3e-7 of a row.
const softTail = 1e-6

// softInput writes the soft input of one masked position into dst [hidden]:
// E[mask] + w·Σ_k softmax(logits/temp)_k·E[k]. row is scratch [hidden].
func softInput(emb model.TokenEmbedder, mask int32, logits []float32, w, temp float32, dst, row []float32) {
	if temp <= 0 {
		temp = 1
	}
	top := float32(math.Inf(-1))
	for _, l := range logits {
		top = max(top, l)
	}
	var z float64
	for _, l := range logits {
		z += float64(model.Exp32((l - top) / temp))
	}
	emb.EmbedRow(mask, dst)
	for k, l := range logits {
		pk := float32(float64(model.Exp32((l-top)/temp)) / z)
		if pk < softTail {
			continue
		}
		emb.EmbedRow(int32(k), row)
		for i, v := range row {
			dst[i] += w * pk * v
		}
	}
}

// smoothing is the IterSmooth state of a block decoder: the soft inputs
// of the current block's masked positions for its next forward.
type smoothing struct {
	p      IterSmooth
	emb    model.TokenEmbedder
	hidden int
	soft   map[int][]float32 // canvas offset -> input row [hidden]
	row    []float32
}

func newSmoothing(p Params) (*smoothing, error) {
	is, ok := p.Policy.(IterSmooth)
	if !ok {
		return nil, nil
	}
	if p.Embedder == nil {
		return nil, fmt.Errorf("decode: iteration smoothing needs the model's token embeddings (Params.Embedder)")
	}
	h := p.Embedder.HiddenSize()
	return &smoothing{p: is, emb: p.Embedder, hidden: h, row: make([]float32, h)}, nil
}

// observe computes the soft inputs of canvas offsets m from their rows
// (logits [V] each) after block step t; keep then drops those committed.
func (s *smoothing) observe(mask int32, m []int, row func(i int) []float32, t int) {
	s.soft = make(map[int][]float32, len(m))
	w := s.p.Weight(t)
	for i, j := range m {
		dst := make([]float32, s.hidden)
		softInput(s.emb, mask, row(i), w, s.p.Temp, dst, s.row)
		s.soft[j] = dst
	}
}

// keep forgets the soft inputs of offsets no longer masked in canvas (or
// all of them when the block changed).
func (s *smoothing) keep(canvas []int32, mask int32, sameBlock bool) {
	for j := range s.soft {
		if !sameBlock || canvas[j] != mask {
			delete(s.soft, j)
		}
	}
}

// embeds are the soft inputs at absolute positions (block start bs).
func (s *smoothing) embeds(bs int) []model.Embedding {
	if s == nil || len(s.soft) == 0 {
		return nil
	}
	out := make([]model.Embedding, 0, len(s.soft))
	for j, r := range s.soft {
		out = append(out, model.Embedding{Pos: bs + j, Rows: r})
	}
	return out
}
