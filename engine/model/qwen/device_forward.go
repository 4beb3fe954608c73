package qwen

import (
	"fmt"
	"math"
	"os"
	"unsafe"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/kernels/cuda"
)

// poolGroup is the sequences of one forward whose pages share one device
// pool: their AttnSeq entries are consecutive from seq0.
type poolGroup struct {
	dp           *devicePool
	seq0, nseq   int
	maxNQ, maxID int
}

// devicePlan is the host side of one device forward.
type devicePlan struct {
	n, r      int
	tokens    []int32 // [n]
	pos       []int32 // [n] absolute positions (rotary ids)
	seqs      []cuda.AttnSeq
	pageTab   []int32
	logitRows []int32 // [r] rows of the stacked batch that get logits
	groups    []poolGroup
	summaries map[int][]cuda.RowStat // by sequence: the device's row summaries
}

// Forward runs the batch on the device (see model.Seq for the contract;
// M-RoPE positions are refused, see OnDevice).
func (d *DeviceModel) Forward(b *model.Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, c := d.host, d.host.cfg
	for si, s := range b.Seqs {
		if s.Rope != nil {
			return fmt.Errorf("qwen: sequence %d: explicit (M-RoPE or pruned) positions run on the CPU backend only", si)
		}
		if s.Flash != nil {
			return fmt.Errorf("qwen: sequence %d: FlashBlock runs on the CPU backend only", si)
		}
	}
	d.graphs.reap()
	var temp []*kvcache.Pool // pools plan made for sequences without a cache
	defer func() {
		for _, p := range temp {
			d.releasePool(p)
		}
	}()
	spans, n, r, err := m.plan(b, func(budget int64) *kvcache.Pool {
		p := d.NewPool(budget)
		temp = append(temp, p)
		return p
	})
	if err != nil {
		return err
	}
	pl, err := d.planDevice(b, spans, n, r)
	if err != nil {
		return err
	}
	direct := directLogits(b, r, c.VocabSize)
	err = d.b.C.Run(func(q *cuda.Queue) error {
		for _, g := range pl.groups {
			moved, err := g.dp.prepare(q, g.maxID+1)
			if err != nil {
				return err
			}
			if moved {
				d.graphs.clear()
			}
		}
		grown, err := d.ws.ensure(q, c, n, r, len(pl.seqs), len(pl.pageTab))
		if err != nil {
			return err
		}
		if grown {
			d.graphs.clear()
		}
		if err := d.upload(q, b, spans, pl); err != nil {
			return err
		}
		if err := d.hook(q, b, spans, 0); err != nil {
			return err
		}
		if err := d.runLayers(q, b, spans, pl); err != nil {
			return err
		}
		return d.head(q, b, pl, direct)
	})
	if err != nil {
		return err
	}
	copySummaries(b, pl)
	for si, s := range b.Seqs {
		if s.Store {
			spans[si].cache.Commit(s.Pos + len(s.Tokens))
		}
	}
	return nil
}

// planDevice lays out tokens, positions, the attention descriptors and
// page tables, making each sequence's written rows its own (copy on write).
func (d *DeviceModel) planDevice(b *model.Batch, spans []span, n, r int) (*devicePlan, error) {
	pl := &devicePlan{n: n, r: r, tokens: make([]int32, 0, n), pos: make([]int32, 0, n), logitRows: make([]int32, 0, r), summaries: map[int][]cuda.RowStat{}}
	type entry struct {
		dp *devicePool
		si int
	}
	order := make([]entry, 0, len(b.Seqs))
	for si, s := range b.Seqs {
		sp := spans[si]
		for i, t := range s.Tokens {
			pl.tokens = append(pl.tokens, t)
			pl.pos = append(pl.pos, int32(s.Pos+i))
		}
		for _, row := range s.LogitRows {
			pl.logitRows = append(pl.logitRows, int32(sp.row+row))
		}
		dp, err := d.poolOf(sp.cache)
		if err != nil {
			return nil, fmt.Errorf("qwen: sequence %d: %w", si, err)
		}
		if err := sp.cache.Own(s.Pos, s.Pos+sp.n); err != nil {
			return nil, fmt.Errorf("qwen: sequence %d: %w", si, err)
		}
		order = append(order, entry{dp, si})
	}
	// Group by pool, keeping batch order inside a group.
	for len(order) > 0 {
		dp := order[0].dp
		g := poolGroup{dp: dp, seq0: len(pl.seqs)}
		rest := order[:0]
		for _, e := range order {
			if e.dp != dp {
				rest = append(rest, e)
				continue
			}
			s, sp := &b.Seqs[e.si], spans[e.si]
			ids := sp.cache.PageIDs()[:(sp.keyLen+kvcache.DefaultPageRows-1)/kvcache.DefaultPageRows]
			pl.seqs = append(pl.seqs, cuda.AttnSeq{
				QRow0: int32(sp.row), NQ: int32(sp.n), QPos0: int32(s.Pos), NK: int32(sp.keyLen),
				PageTab0: int32(len(pl.pageTab)), MaskKind: int32(s.Mask.Kind), MaskBlock: int32(max(s.Mask.Block, 1)),
			})
			pl.pageTab = append(pl.pageTab, ids...)
			for _, id := range ids {
				g.maxID = max(g.maxID, int(id))
			}
			g.nseq++
			g.maxNQ = max(g.maxNQ, sp.n)
		}
		pl.groups = append(pl.groups, g)
		order = rest
	}
	return pl, nil
}

// upload writes the plan's arrays and the embeddings of its rows.
func (d *DeviceModel) upload(q *cuda.Queue, b *model.Batch, spans []span, pl *devicePlan) error {
	ws, H := &d.ws, d.host.cfg.HiddenSize
	for _, w := range []struct {
		dst uintptr
		s   any
	}{{ws.tokens.Ptr, pl.tokens}, {ws.pos.Ptr, pl.pos}, {ws.seqs.Ptr, pl.seqs}, {ws.pageTab.Ptr, pl.pageTab}, {ws.logitRows.Ptr, pl.logitRows}} {
		if err := q.Write(w.dst, w.s); err != nil {
			return err
		}
	}
	if err := d.b.Embed(q, ws.x.Ptr, d.w.embed, ws.tokens.Ptr, pl.n, H); err != nil {
		return err
	}
	for si, s := range b.Seqs { // media rows stand in for their placeholders
		sp := spans[si]
		for _, e := range s.Embeds {
			p0, p1 := max(e.Pos, s.Pos), min(e.Pos+len(e.Rows)/H, s.Pos+len(s.Tokens))
			if p0 >= p1 {
				continue
			}
			dst := ws.x.Ptr + uintptr((sp.row+p0-s.Pos)*H*4)
			if err := q.Write(dst, e.Rows[(p0-e.Pos)*H:(p1-e.Pos)*H]); err != nil {
				return err
			}
		}
	}
	return nil
}

// runLayers queues the decoder layers, replaying a CUDA graph when this
// batch shape ran before (and hidden states are not asked for).
func (d *DeviceModel) runLayers(q *cuda.Queue, b *model.Batch, spans []span, pl *devicePlan) error {
	if b.Hidden != nil || !graphsEnabled {
		for li := range d.w.layers {
			if err := d.layer(q, li, pl); err != nil {
				return err
			}
			if err := d.hook(q, b, spans, li+1); err != nil {
				return err
			}
		}
		return nil
	}
	key := pl.graphKey()
	return d.graphs.run(q, key, func(q *cuda.Queue) error {
		for li := range d.w.layers {
			if err := d.layer(q, li, pl); err != nil {
				return err
			}
		}
		return nil
	})
}

// layer queues one decoder block over the batch's rows.
func (d *DeviceModel) layer(q *cuda.Queue, li int, pl *devicePlan) error {
	c, ws, w, b := d.host.cfg, &d.ws, &d.w.layers[li], d.b
	n := pl.n
	H, D, I, Nq, Nkv := c.HiddenSize, c.HeadDim, c.IntermediateSize, c.NumHeads, c.NumKVHeads
	qd, kvd := Nq*D, Nkv*D
	eps := float32(c.RMSNormEps)
	x, h, hb, o := ws.x.Ptr, ws.h.Ptr, ws.hb.Ptr, ws.o.Ptr
	qp, kp, vp, att := ws.q.Ptr, ws.k.Ptr, ws.v.Ptr, ws.att.Ptr
	gate, up := ws.gate.Ptr, ws.up.Ptr
	linear := func(out, in, weight uintptr, rows, outDim, inDim int) error {
		if err := b.ToBF16(q, hb, in, int64(rows*inDim)); err != nil {
			return err
		}
		return q.LinearBF16(b.BLAS, out, hb, weight, rows, outDim, inDim, false)
	}
	steps := []func() error{
		func() error { return b.RMSNorm(q, h, x, w.inputNorm, n, H, eps) },
		func() error { return b.ToBF16(q, hb, h, int64(n*H)) },
		func() error { return q.LinearBF16(b.BLAS, qp, hb, w.q, n, qd, H, false) },
		func() error { return q.LinearBF16(b.BLAS, kp, hb, w.k, n, kvd, H, false) },
		func() error { return q.LinearBF16(b.BLAS, vp, hb, w.v, n, kvd, H, false) },
		func() error {
			if w.qBias == 0 {
				return nil
			}
			if err := b.AddBias(q, qp, w.qBias, n, qd); err != nil {
				return err
			}
			if err := b.AddBias(q, kp, w.kBias, n, kvd); err != nil {
				return err
			}
			return b.AddBias(q, vp, w.vBias, n, kvd)
		},
		func() error {
			if w.qNorm == 0 { // Qwen3: per-head RMSNorm over D, before RoPE
				return nil
			}
			if err := b.RMSNorm(q, qp, qp, w.qNorm, n*Nq, D, eps); err != nil {
				return err
			}
			return b.RMSNorm(q, kp, kp, w.kNorm, n*Nkv, D, eps)
		},
		func() error { return b.RoPE(q, qp, ws.pos.Ptr, d.w.invFreq, n, Nq, D) },
		func() error { return b.RoPE(q, kp, ws.pos.Ptr, d.w.invFreq, n, Nkv, D) },
		func() error {
			for _, g := range pl.groups {
				seqs := ws.seqs.Ptr + uintptr(g.seq0)*unsafe.Sizeof(cuda.AttnSeq{})
				l := d.layout(li)
				if err := b.KVStore(q, g.dp.buf.Ptr, ws.pageTab.Ptr, seqs, kp, vp, g.nseq, g.maxNQ, l, Nkv, D); err != nil {
					return err
				}
				if err := b.Attention(q, att, qp, g.dp.buf.Ptr, ws.pageTab.Ptr, seqs, g.nseq, g.maxNQ, l, Nq, Nkv, D, scale(D)); err != nil {
					return err
				}
			}
			return nil
		},
		func() error { return linear(o, att, w.o, n, H, qd) },
		func() error { return b.Add(q, x, o, int64(n*H)) },
		// MLP block: down(silu(gate(h)) * up(h)).
		func() error { return b.RMSNorm(q, h, x, w.postNorm, n, H, eps) },
		func() error { return b.ToBF16(q, hb, h, int64(n*H)) },
		func() error { return q.LinearBF16(b.BLAS, gate, hb, w.gate, n, I, H, false) },
		func() error { return q.LinearBF16(b.BLAS, up, hb, w.up, n, I, H, false) },
		func() error { return b.SiLUMul(q, gate, up, int64(n*I)) },
		func() error { return linear(o, gate, w.down, n, H, I) },
		func() error { return b.Add(q, x, o, int64(n*H)) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// head queues the final norm and the LM head on the rows that asked for
// logits and reads the logits into the sequences' buffers.
func (d *DeviceModel) head(q *cuda.Queue, b *model.Batch, pl *devicePlan, direct []float32) error {
	if pl.r == 0 {
		return nil
	}
	c, ws, bk := d.host.cfg, &d.ws, d.b
	H, V, r := c.HiddenSize, c.VocabSize, pl.r
	if err := bk.GatherRows(q, ws.hidden.Ptr, ws.x.Ptr, ws.logitRows.Ptr, r, H); err != nil {
		return err
	}
	if err := bk.RMSNorm(q, ws.hidden.Ptr, ws.hidden.Ptr, d.w.norm, r, H, float32(c.RMSNormEps)); err != nil {
		return err
	}
	if err := bk.ToBF16(q, ws.hb.Ptr, ws.hidden.Ptr, int64(r*H)); err != nil {
		return err
	}
	if err := q.LinearBF16(bk.BLAS, ws.logits.Ptr, ws.hb.Ptr, d.w.lmHead, r, V, H, false); err != nil {
		return err
	}
	if direct != nil {
		return q.Read(direct, ws.logits.Ptr)
	}
	j := 0
	for si, s := range b.Seqs {
		k := len(s.LogitRows)
		at := ws.logits.Ptr + uintptr(j*V*4)
		j += k
		switch {
		case k == 0:
		case s.Summaries != nil: // only the summaries cross to the host
			if s.Exclude >= 0 && int(s.Exclude) < V {
				if err := bk.SetColumn(q, at, k, int64(V), int(s.Exclude), float32(math.Inf(-1))); err != nil {
					return err
				}
			}
			st := ws.stats.Ptr + uintptr(j-k)*unsafe.Sizeof(cuda.RowStat{})
			if err := bk.RowStats(q, st, at, k, V); err != nil {
				return err
			}
			pl.summaries[si] = make([]cuda.RowStat, k)
			if err := q.Read(pl.summaries[si], st); err != nil {
				return err
			}
		default:
			if err := q.Read(s.Logits[:k*V], at); err != nil {
				return err
			}
		}
	}
	return nil
}

// copySummaries hands the device's row summaries to the sequences.
func copySummaries(b *model.Batch, pl *devicePlan) {
	for si, st := range pl.summaries {
		for i, r := range st {
			b.Seqs[si].Summaries[i] = model.RowStat{Token: r.Token, Conf: r.Conf, Margin: r.Margin, LogitMargin: r.LogitMargin, Entropy: r.Entropy}
		}
	}
}

// hook reads the hidden states back for Batch.Hidden (debugging and the
// golden tests; it waits for the device at every layer).
func (d *DeviceModel) hook(q *cuda.Queue, b *model.Batch, spans []span, layer int) error {
	if b.Hidden == nil {
		return nil
	}
	H := d.host.cfg.HiddenSize
	for si, sp := range spans {
		x := make([]float32, sp.n*H)
		if err := q.Read(x, d.ws.x.Ptr+uintptr(sp.row*H*4)); err != nil {
			return err
		}
		if err := q.Sync(); err != nil {
			return err
		}
		b.Hidden(si, layer, x)
	}
	return nil
}

// graphsEnabled: DLMSTREAM_CUDA_GRAPHS=0 runs every launch eagerly.
var graphsEnabled = os.Getenv("DLMSTREAM_CUDA_GRAPHS") != "0"

// releasePool frees a temporary pool's storage (the caller holds d.mu).
func (d *DeviceModel) releasePool(p *kvcache.Pool) {
	d.poolsMu.Lock()
	dp := d.pools[p]
	delete(d.pools, p)
	d.poolsMu.Unlock()
	if dp != nil {
		d.graphs.clear() // graphs may hold the storage's address
		dp.free()
	}
}
