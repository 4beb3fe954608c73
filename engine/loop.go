package engine

import (
	"errors"
	"sync"
	"time"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// loop is the engine's one goroutine: schedule, forward, apply, repeat.
func (e *Engine) loop() {
	defer e.wg.Done()
	V := e.arch.Vocab
	var logits []float32
	var sums []model.RowStat // row summaries for the work that asks for them
	lastSeqs := 0            // sequences in the last forward
	for {
		batch := e.sch.Step()
		if len(batch) == 0 {
			select {
			case <-e.quit:
				e.drain()
				return
			case <-e.sch.Wake():
				// Coming out of idle while requests have been running
				// together: give those submitted together a moment to
				// arrive, so they start in the same forward instead of one
				// step apart. A lone caller's next request (one in flight)
				// does not wait: that millisecond was 7% of its time.
				if lastSeqs > 1 {
					time.Sleep(time.Millisecond)
				}
				continue
			}
		}
		lastSeqs = len(batch)
		select {
		case <-e.quit:
			e.drain()
			return
		default:
		}
		need, nsum := 0, 0
		for _, ent := range batch {
			w := ent.Work()
			if _, k := w.AllRows(); w.Summary {
				nsum += k
			} else {
				need += k * V
			}
		}
		if cap(logits) < need {
			logits = make([]float32, need)
		}
		if cap(sums) < nsum {
			sums = make([]model.RowStat, nsum)
		}
		// Each entry's inputs: its work's, then its branches' (FreeDave's
		// candidates, on forks of its cache), over its part of the buffers.
		type part struct {
			logits  []float32
			sums    []model.RowStat
			release func()
		}
		parts := make([]part, len(batch))
		b := &model.Batch{}
		off, soff, lrows := 0, 0, 0
		for i, ent := range batch {
			w := ent.Work()
			_, k := w.AllRows()
			var lg []float32
			var sm []model.RowStat
			if w.Summary {
				sm = sums[soff : soff+k]
			} else {
				lg = logits[off : off+k*V]
			}
			seqs, rows, release := decode.ToModels(*w, ent.Cache, lg, sm, V)
			b.Seqs = append(b.Seqs, seqs...)
			lrows += rows
			if w.Summary {
				parts[i] = part{sums: sm[:rows], release: release}
				soff += k
			} else {
				parts[i] = part{logits: lg[:rows*V], release: release}
				off += k * V
			}
		}
		t0 := time.Now()
		err := e.Model.Forward(b)
		took := time.Since(t0)
		for _, p := range parts {
			p.release()
		}
		e.stats.add(len(batch), lrows, rowsOf(b), took)
		e.meter.forwardTook(took)
		if err != nil {
			for _, ent := range batch {
				e.sch.Fail(ent, err)
			}
			continue
		}
		for i, ent := range batch {
			w := *ent.Work()
			decode.Done(w, ent.Cache)
			if ent.OnForward != nil {
				ent.OnForward(ent.Cache)
			}
			e.sch.Ran(ent)
			decode.Deliver(ent.Seq, w, parts[i].logits, parts[i].sums)
		}
	}
}

// drain fails everything still queued or running when the engine closes.
func (e *Engine) drain() {
	for {
		batch := e.sch.Step()
		if len(batch) == 0 {
			return
		}
		for _, ent := range batch {
			e.sch.Fail(ent, errClosed)
		}
	}
}

var errClosed = errors.New("engine closed")

// Stats are cumulative counters of the engine loop.
type Stats struct {
	Forwards    int64         // forward passes run
	Seqs        int64         // sequence slots over all forwards (batch occupancy = Seqs/Forwards)
	Rows        int64         // token rows over all forwards
	LogitRows   int64         // rows that got vocabulary logits
	ForwardTime time.Duration // time inside Model.Forward
}

type statsBox struct {
	mu sync.Mutex
	s  Stats
}

func (b *statsBox) add(seqs, logitRows, rows int, d time.Duration) {
	b.mu.Lock()
	b.s.Forwards++
	b.s.Seqs += int64(seqs)
	b.s.Rows += int64(rows)
	b.s.LogitRows += int64(logitRows)
	b.s.ForwardTime += d
	b.mu.Unlock()
}

// Stats returns the engine's counters so far.
func (e *Engine) Stats() Stats {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	return e.stats.s
}

func rowsOf(b *model.Batch) int {
	n := 0
	for _, s := range b.Seqs {
		n += len(s.Tokens)
	}
	return n
}
