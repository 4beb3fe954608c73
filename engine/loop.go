package engine

import (
	"errors"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// loop is the engine's one goroutine: schedule, forward, apply, repeat.
func (e *Engine) loop() {
	defer e.wg.Done()
	V := e.arch.Vocab
	var logits []float32
	for {
		batch := e.sch.Step()
		if len(batch) == 0 {
			select {
			case <-e.quit:
				e.drain()
				return
			case <-e.sch.Wake():
				continue
			}
		}
		select {
		case <-e.quit:
			e.drain()
			return
		default:
		}
		need := 0
		for _, ent := range batch {
			need += len(ent.Work().LogitRows) * V
		}
		if cap(logits) < need {
			logits = make([]float32, need)
		}
		b := &model.Batch{Seqs: make([]model.Seq, len(batch))}
		off := 0
		for i, ent := range batch {
			w := ent.Work()
			if w.Store && w.Pos < ent.Cache.Len() { // a refresh recomputes rows already committed
				ent.Cache.Truncate(w.Pos)
			}
			n := len(w.LogitRows) * V
			b.Seqs[i] = decode.ToModel(*w, ent.Cache, logits[off:off+n])
			off += n
		}
		if err := e.Model.Forward(b); err != nil {
			for _, ent := range batch {
				e.sch.Fail(ent, err)
			}
			continue
		}
		for i, ent := range batch {
			if t := ent.Work().Truncate; t >= 0 {
				ent.Cache.Truncate(t)
			}
			e.sch.Ran(ent)
			ent.Seq.Apply(b.Seqs[i].Logits)
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
