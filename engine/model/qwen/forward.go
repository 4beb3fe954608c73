package qwen

import (
	"fmt"
	"sync"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
)

// workspace holds the activations of one forward pass; N = rows in the batch.
type workspace struct {
	x, h     []float32 // [N, H] residual stream, normed input
	q, att   []float32 // [N, Nq*D]
	k, v     []float32 // [N, Nkv*D]
	o        []float32 // [N, H]
	gate, up []float32 // [N, I]
	pos      []int     // [N] rotary positions (absolute, or M-RoPE temporal)
	pos3     [3][]int  // [3][N] M-RoPE (temporal, height, width) positions
	rot      []float32 // [2, N, Nq*D] M-RoPE scratch
	hidden   []float32 // [R, H] rows that need logits
	logits   []float32 // [R, V], unless the batch's logits buffers are one (directLogits)
	attn     []cpu.AttentionSeq
	attIn    []float32 // [N, Nq*D] FlashBlock: block rows' internal attention
	lseIn    []float32 // [N, Nq] its log-sum-exp
}

var workspaces sync.Pool

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// workspace returns buffers for n rows, r of them with logits; the logits
// buffer holds rLogits rows (0 when Forward writes the caller's buffer).
func (m *Model) workspace(n, r, rLogits int) *workspace {
	ws, _ := workspaces.Get().(*workspace)
	if ws == nil {
		ws = &workspace{}
	}
	c := m.cfg
	H, I := c.HiddenSize, c.IntermediateSize
	qd, kvd := c.NumHeads*c.HeadDim, c.KVDim()
	ws.x, ws.h, ws.o = grow(ws.x, n*H), grow(ws.h, n*H), grow(ws.o, n*H)
	ws.q, ws.att = grow(ws.q, n*qd), grow(ws.att, n*qd)
	ws.k, ws.v = grow(ws.k, n*kvd), grow(ws.v, n*kvd)
	ws.gate, ws.up = grow(ws.gate, n*I), grow(ws.up, n*I)
	ws.pos = grow(ws.pos, n)
	if m.mrope != nil {
		for a := range ws.pos3 {
			ws.pos3[a] = grow(ws.pos3[a], n)
		}
		ws.rot = grow(ws.rot, 2*n*qd)
	}
	ws.hidden, ws.logits = grow(ws.hidden, r*H), grow(ws.logits, rLogits*c.VocabSize)
	return ws
}

// span is where one sequence's rows sit in the stacked batch.
type span struct {
	row, n, keyLen int
	cache          *kvcache.Sequence
}

// Forward runs one pass over every sequence of the batch (see model.Seq for
// the contract). Rows of all sequences are stacked, so each weight matrix is
// read once per call whatever the batch holds.
func (m *Model) Forward(b *model.Batch) error {
	c := m.cfg
	spans, n, r, err := m.plan(b, m.NewPool)
	if err != nil {
		return err
	}
	direct := directLogits(b, r, c.VocabSize)
	rLogits := r
	if direct != nil {
		rLogits = 0
	}
	flash, err := m.flashPlan(b, spans)
	if err != nil {
		return err
	}
	ws := m.workspace(n, r, rLogits)
	if len(flash) > 0 {
		ws.attIn, ws.lseIn = grow(ws.attIn, n*c.NumHeads*c.HeadDim), grow(ws.lseIn, n*c.NumHeads)
	}
	defer func() {
		clear(ws.attn) // the pool must not keep KV cache rows alive
		workspaces.Put(ws)
	}()
	H, D, Nq, Nkv := c.HiddenSize, c.HeadDim, c.NumHeads, c.NumKVHeads
	qd, kvd := Nq*D, Nkv*D
	eps := float32(c.RMSNormEps)

	// Embedding gather and positions: x [N, H].
	for si, s := range b.Seqs {
		sp := spans[si]
		for i, t := range s.Tokens {
			m.Embed.Row(int(t), ws.x[(sp.row+i)*H:(sp.row+i+1)*H])
			ws.pos[sp.row+i] = s.Pos + i
			if s.Rope != nil && m.mrope == nil { // Linear: the t axis is the position
				ws.pos[sp.row+i], _, _ = s.Rope.At(s.Pos + i)
			}
		}
		for _, e := range s.Embeds { // media rows stand in for their placeholders
			for p := max(e.Pos, s.Pos); p < min(e.Pos+len(e.Rows)/H, s.Pos+len(s.Tokens)); p++ {
				r, src := sp.row+p-s.Pos, (p-e.Pos)*H
				copy(ws.x[r*H:(r+1)*H], e.Rows[src:src+H])
			}
		}
	}
	flat := true // every row rotates by ws.pos alone
	if m.mrope != nil {
		flat = m.ropePositions(b, spans, ws)
	}
	m.hook(b, spans, 0, ws.x)

	for li := range m.Layers {
		l := &m.Layers[li]
		// Attention block.
		cpu.RMSNorm(ws.h, ws.x, l.InputNorm, n, H, eps)
		l.Q.MatMul(ws.q, ws.h, n) // [N, Nq*D]
		l.K.MatMul(ws.k, ws.h, n) // [N, Nkv*D]
		l.V.MatMul(ws.v, ws.h, n) // [N, Nkv*D]
		if l.QBias != nil {
			cpu.AddBias(ws.q, l.QBias, n)
			cpu.AddBias(ws.k, l.KBias, n)
			cpu.AddBias(ws.v, l.VBias, n)
		}
		if l.QNorm != nil { // Qwen3: per-head RMSNorm over D, before RoPE
			cpu.RMSNorm(ws.q, ws.q, l.QNorm, n*Nq, D, eps)
			cpu.RMSNorm(ws.k, ws.k, l.KNorm, n*Nkv, D, eps)
		}
		if flat {
			m.rope.Apply(ws.q, n, Nq, ws.pos)
			m.rope.Apply(ws.k, n, Nkv, ws.pos)
		} else {
			m.mrope.apply(ws.q, ws.rot, n, Nq, D, &ws.pos3)
			m.mrope.apply(ws.k, ws.rot, n, Nkv, D, &ws.pos3)
		}
		// Every sequence's attention in one call: its work (kv heads ×
		// blocks of query rows) spreads over the threads together.
		ws.attn = ws.attn[:0]
		fi := 0 // next FlashBlock sequence
		for si, s := range b.Seqs {
			sp := spans[si]
			sp.cache.Write(li, s.Pos, ws.k[sp.row*kvd:(sp.row+sp.n)*kvd], ws.v[sp.row*kvd:(sp.row+sp.n)*kvd])
			kv := sp.cache.KV(li) // pages of [keyLen, Nkv*D] and more
			a := cpu.AttentionSeq{
				Out: ws.att[sp.row*qd : (sp.row+sp.n)*qd], Q: ws.q[sp.row*qd : (sp.row+sp.n)*qd], KP: &kv[0], VP: &kv[1],
				NQ: sp.n, QPos0: s.Pos, NK: sp.keyLen, Mask: s.Mask,
			}
			if fi < len(flash) && flash[fi].seq == si {
				fl := &flash[fi]
				r := sp.row + fl.r0
				ws.attn = m.flashSeqs(ws.attn, a, fl, li, ws.attIn[r*qd:(r+fl.nb)*qd], ws.lseIn[r*Nq:(r+fl.nb)*Nq])
				fi++
				continue
			}
			ws.attn = append(ws.attn, a)
		}
		cpu.AttentionBatch(ws.attn, Nq, Nkv, D)
		for i := range flash {
			fl := &flash[i]
			sp := spans[fl.seq]
			r := sp.row + fl.r0
			m.flashMerge(ws.att[sp.row*qd:(sp.row+sp.n)*qd], fl, li, ws.attIn[r*qd:(r+fl.nb)*qd], ws.lseIn[r*Nq:(r+fl.nb)*Nq])
		}
		l.O.MatMul(ws.o, ws.att, n) // [N, H]
		cpu.Add(ws.x, ws.o)

		// MLP block: down(silu(gate(h)) * up(h)).
		cpu.RMSNorm(ws.h, ws.x, l.PostNorm, n, H, eps)
		l.Gate.MatMul(ws.gate, ws.h, n) // [N, I]
		l.Up.MatMul(ws.up, ws.h, n)     // [N, I]
		cpu.SiLUMul(ws.gate, ws.up)
		l.Down.MatMul(ws.o, ws.gate, n) // [N, H]
		cpu.Add(ws.x, ws.o)
		m.hook(b, spans, li+1, ws.x)
	}

	// Final norm and LM head, only on the rows that asked for logits.
	if r > 0 {
		j := 0
		for si, s := range b.Seqs {
			for _, row := range s.LogitRows {
				src := (spans[si].row + row) * H
				copy(ws.hidden[j*H:(j+1)*H], ws.x[src:src+H])
				j++
			}
		}
		cpu.RMSNorm(ws.hidden, ws.hidden, m.Norm, r, H, eps)
		if direct != nil {
			m.LMHead.MatMul(direct, ws.hidden, r) // [R, V], into the sequences' buffers
		} else {
			m.LMHead.MatMul(ws.logits, ws.hidden, r) // [R, V]
			V := c.VocabSize
			j = 0
			for _, s := range b.Seqs {
				k := len(s.LogitRows)
				if s.Summaries != nil {
					summarize(s.Summaries[:k], ws.logits[j*V:(j+k)*V], V, s.Exclude)
				} else {
					copy(s.Logits, ws.logits[j*V:(j+k)*V])
				}
				j += k
			}
		}
	}
	for si, s := range b.Seqs {
		if s.Store {
			spans[si].cache.Commit(s.Pos + len(s.Tokens))
		}
	}
	return nil
}

// directLogits returns the one buffer [r, V] that the sequences' Logits
// are consecutive pieces of, in batch order (as the engine lays them out),
// so the LM head writes them in place; nil when they are not.
func directLogits(b *model.Batch, r, V int) []float32 {
	var all []float32
	off := 0
	for _, s := range b.Seqs {
		if s.Summaries != nil {
			return nil // summarized from the workspace
		}
		n := len(s.LogitRows) * V
		switch {
		case n == 0:
			continue
		case all == nil:
			all = s.Logits[:cap(s.Logits)]
		case off >= len(all) || &all[off] != &s.Logits[0]:
			return nil
		}
		off += n
	}
	if all == nil || off != r*V || len(all) < off {
		return nil
	}
	return all[:off]
}

// summarize writes the RowStat of each row of logits [len(out), V],
// rows spread over the threads.
func summarize(out []model.RowStat, logits []float32, V int, exclude int32) {
	cpu.ParallelRows(len(out), func(r0, r1 int) {
		for i := r0; i < r1; i++ {
			out[i] = model.Summarize(logits[i*V:(i+1)*V], exclude)
		}
	})
}

// plan validates the batch, reserves cache rows and lays the rows out; a
// sequence without a cache gets one from newPool(0), freed on error.
func (m *Model) plan(b *model.Batch, newPool func(int64) *kvcache.Pool) (spans []span, n, r int, err error) {
	c := m.cfg
	spans = make([]span, len(b.Seqs))
	for si := range b.Seqs {
		s := &b.Seqs[si]
		k := len(s.Tokens)
		if k == 0 {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d has no tokens", si)
		}
		for i, t := range s.Tokens {
			if t < 0 || int(t) >= c.VocabSize {
				return nil, 0, 0, fmt.Errorf("qwen: sequence %d token %d: id %d outside vocabulary [0, %d)", si, i, t, c.VocabSize)
			}
		}
		keyLen := s.KeyLen
		if keyLen == 0 {
			keyLen = s.Pos + k
		}
		if s.Pos < 0 || keyLen < s.Pos+k {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: pos %d, %d tokens, key length %d", si, s.Pos, k, keyLen)
		}
		if s.Pos+k > c.MaxPositionEmbeddings && c.MaxPositionEmbeddings > 0 {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: position %d beyond max_position_embeddings %d", si, s.Pos+k, c.MaxPositionEmbeddings)
		}
		cache := s.Cache
		if cache == nil {
			if s.Pos != 0 || keyLen != k {
				return nil, 0, 0, fmt.Errorf("qwen: sequence %d: pos %d needs a KV cache", si, s.Pos)
			}
			cache = newPool(0).NewSequence()
			defer func() {
				if err != nil {
					cache.Free()
				}
			}()
		}
		if s.Store && s.Pos != cache.Len() {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: storing at pos %d but the cache holds %d committed rows", si, s.Pos, cache.Len())
		}
		if err := cache.Reserve(keyLen); err != nil {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: %w", si, err)
		}
		if s.Rope != nil && m.mrope == nil && !s.Rope.Linear() {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: M-RoPE positions (axes differ) for a model without mrope_section", si)
		}
		for ei, e := range s.Embeds {
			if len(e.Rows)%c.HiddenSize != 0 || e.Pos < 0 {
				return nil, 0, 0, fmt.Errorf("qwen: sequence %d: embedding %d at position %d has %d floats, not rows of hidden_size %d", si, ei, e.Pos, len(e.Rows), c.HiddenSize)
			}
		}
		for _, row := range s.LogitRows {
			if row < 0 || row >= k {
				return nil, 0, 0, fmt.Errorf("qwen: sequence %d: logit row %d outside [0, %d)", si, row, k)
			}
		}
		if s.Summaries != nil && len(s.Summaries) < len(s.LogitRows) {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: %d summaries for %d logit rows", si, len(s.Summaries), len(s.LogitRows))
		}
		if want := len(s.LogitRows) * c.VocabSize; s.Summaries == nil && len(s.Logits) < want {
			return nil, 0, 0, fmt.Errorf("qwen: sequence %d: logits buffer holds %d floats, need %d", si, len(s.Logits), want)
		}
		spans[si] = span{row: n, n: k, keyLen: keyLen, cache: cache}
		n += k
		r += len(s.LogitRows)
	}
	return spans, n, r, nil
}

func (m *Model) hook(b *model.Batch, spans []span, layer int, x []float32) {
	if b.Hidden == nil {
		return
	}
	H := m.cfg.HiddenSize
	for si, sp := range spans {
		b.Hidden(si, layer, x[sp.row*H:(sp.row+sp.n)*H])
	}
}
