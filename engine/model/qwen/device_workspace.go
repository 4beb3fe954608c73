package qwen

import (
	"fmt"
	"strings"

	"dlmstream/engine/model"
	"dlmstream/kernels/cuda"
)

// deviceWorkspace holds one forward's activations on the device; it grows
// (and never shrinks) to the largest batch seen, so its addresses, which
// captured graphs bake in, change only when it grows.
type deviceWorkspace struct {
	rowCap, logitCap, seqCap, pageCap int

	x, h, o, q, att, k, v, gate, up, hb *cuda.Buffer // [N, ...] activations; hb bf16 GEMM input
	tokens, pos                         *cuda.Buffer // [N] int32
	seqs, pageTab                       *cuda.Buffer // [S] AttnSeq, [P] int32
	logitRows, hidden, logits, stats    *cuda.Buffer // [R] int32, [R, H], [R, V], [R] RowStat
}

// ensure grows the buffers to hold n rows, r logit rows, s sequences and
// p page-table entries; it reports whether any address changed.
func (w *deviceWorkspace) ensure(q *cuda.Queue, c *model.Config, n, r, s, p int) (bool, error) {
	grown := false
	if n > w.rowCap || r > w.logitCap {
		rows, lr := max(n, w.rowCap, 64), max(r, w.logitCap, 16)
		w.freeRows(q)
		H, I, qd, kvd := int64(c.HiddenSize), int64(c.IntermediateSize), int64(c.NumHeads*c.HeadDim), int64(c.KVDim())
		N, R := int64(rows), int64(lr)
		for _, a := range []struct {
			b     **cuda.Buffer
			bytes int64
		}{
			{&w.x, N * H * 4}, {&w.h, N * H * 4}, {&w.o, N * H * 4}, {&w.q, N * qd * 4}, {&w.att, N * qd * 4},
			{&w.k, N * kvd * 4}, {&w.v, N * kvd * 4}, {&w.gate, N * I * 4}, {&w.up, N * I * 4},
			{&w.hb, max(N*max(H, I, qd), R*H) * 2}, {&w.tokens, N * 4}, {&w.pos, N * 4},
			{&w.logitRows, R * 4}, {&w.hidden, R * H * 4}, {&w.logits, R * int64(c.VocabSize) * 4}, {&w.stats, R * 20},
		} {
			b, err := q.Alloc(a.bytes)
			if err != nil {
				return true, fmt.Errorf("qwen: device workspace for %d rows: %w", rows, err)
			}
			*a.b = b
		}
		w.rowCap, w.logitCap, grown = rows, lr, true
	}
	if s > w.seqCap || p > w.pageCap {
		sc, pc := max(s, 2*w.seqCap, 32), max(p, 2*w.pageCap, 256)
		q.Free(w.seqs)
		q.Free(w.pageTab)
		var err error
		if w.seqs, err = q.Alloc(int64(sc) * 32); err != nil {
			return true, err
		}
		if w.pageTab, err = q.Alloc(int64(pc) * 4); err != nil {
			return true, err
		}
		w.seqCap, w.pageCap, grown = sc, pc, true
	}
	return grown, nil
}

func (w *deviceWorkspace) rowBuffers() []**cuda.Buffer {
	return []**cuda.Buffer{&w.x, &w.h, &w.o, &w.q, &w.att, &w.k, &w.v, &w.gate, &w.up, &w.hb, &w.tokens, &w.pos, &w.logitRows, &w.hidden, &w.logits, &w.stats}
}

func (w *deviceWorkspace) freeRows(q *cuda.Queue) {
	for _, b := range w.rowBuffers() {
		q.Free(*b)
		*b = nil
	}
	w.rowCap, w.logitCap = 0, 0
}

// free releases everything (outside a Run).
func (w *deviceWorkspace) free() {
	for _, b := range append(w.rowBuffers(), &w.seqs, &w.pageTab) {
		(*b).Free()
		*b = nil
	}
	*w = deviceWorkspace{}
}

// graphKey names the launch sequence of the layers for this plan: the
// grid shapes and scalar arguments depend on the row count and on each
// pool group's sequence count and longest query run.
func (pl *devicePlan) graphKey() string {
	var b strings.Builder
	fmt.Fprintf(&b, "n%d", pl.n)
	for _, g := range pl.groups {
		fmt.Fprintf(&b, "|%p:%d+%d:%d", g.dp, g.seq0, g.nseq, g.maxNQ)
	}
	return b.String()
}

// graphCache keeps the captured layer graphs by key. A shape is captured
// the second time it runs (the first runs eagerly), so one-off shapes
// never pay for a capture. Cleared graphs are destroyed at the next safe
// point (destroying needs the context, which a Run holds).
type graphCache struct {
	m    map[string]*graphEntry
	dead []*cuda.Graph
}

type graphEntry struct {
	runs int
	g    *cuda.Graph
}

// maxGraphs bounds the captured shapes kept.
const maxGraphs = 64

func (gc *graphCache) run(q *cuda.Queue, key string, f func(q *cuda.Queue) error) error {
	if gc.m == nil {
		gc.m = map[string]*graphEntry{}
	}
	e := gc.m[key]
	if e == nil {
		if len(gc.m) >= maxGraphs {
			gc.clear()
		}
		e = &graphEntry{}
		gc.m[key] = e
	}
	e.runs++
	if e.g == nil && e.runs >= 2 {
		g, err := q.Capture(f)
		if err != nil {
			return fmt.Errorf("qwen: capturing the layers' graph: %w", err)
		}
		e.g = g
	}
	if e.g != nil {
		return q.LaunchGraph(e.g)
	}
	return f(q)
}

// clear drops every graph (addresses they bake in changed).
func (gc *graphCache) clear() {
	for _, e := range gc.m {
		if e.g != nil {
			gc.dead = append(gc.dead, e.g)
		}
	}
	gc.m = nil
}

// reap destroys cleared graphs; call outside a Run.
func (gc *graphCache) reap() {
	for _, g := range gc.dead {
		g.Destroy()
	}
	gc.dead = nil
}
