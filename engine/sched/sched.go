// Package sched decides, step by step, which sequences run in the engine's
// next forward pass. It sees sequences, their work sizes and the KV memory
// pool, never tensors (the engine runs the forward).
//
// Admission: a request enters the running set only when its whole KV
// reservation (prompt + generation + one block of scratch) fits the pool's
// byte budget, so a running request can never run out of memory mid-way.
// Waiting requests sit in a bounded queue; beyond it Submit fails at once
// with ErrBusy. Each step takes one work item from as many running
// sequences as fit the per-step row budget (activations and logits),
// oldest first, so prefills, denoising steps and commits of different
// sequences share one forward. Cancelled requests leave at the next step
// and their memory returns to the pool.
package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"dlmstream/engine/decode"
	"dlmstream/engine/kvcache"
)

// ErrBusy is returned by Submit when the waiting queue is full.
var ErrBusy = errors.New("engine busy: request queue is full, retry later")

// Limits bound the scheduler.
type Limits struct {
	MaxQueue     int // waiting requests beyond the running set (default 64)
	MaxRunning   int // sequences decoded concurrently (default 16)
	MaxRows      int // token rows per forward, all sequences together (default 512)
	MaxLogitRows int // rows per forward that need logits (default 128)
}

func (l *Limits) defaults() {
	if l.MaxQueue <= 0 {
		l.MaxQueue = 64
	}
	if l.MaxRunning <= 0 {
		l.MaxRunning = 16
	}
	if l.MaxRows <= 0 {
		l.MaxRows = 512
	}
	if l.MaxLogitRows <= 0 {
		l.MaxLogitRows = 128
	}
}

// Entry is one request's life in the scheduler.
type Entry struct {
	Ctx      context.Context
	Seq      decode.Sequence
	NeedRows int // KV rows to reserve at admission
	// ChargeBytes is memory the entry's sequence holds beside its KV
	// pages (FlashBlock's attention cache), charged against the pool's
	// budget with them at admission (kvcache.Sequence.Charge).
	ChargeBytes int64
	Cache       *kvcache.Sequence
	// Prefix, if set, holds committed K/V the entry starts from: at
	// admission its cache is a fork of Prefix's first PrefixRows rows
	// instead of an empty one. Release is called once the entry no longer
	// needs Prefix (admitted or dropped).
	Prefix     *kvcache.Sequence
	PrefixRows int
	Release    func()
	// OnForward, if set, is called by the engine after each forward the
	// entry took part in (prefix caching reads the committed rows there).
	OnForward func(cache *kvcache.Sequence)
	// Done is closed when the entry leaves the scheduler; Err says why.
	Done chan struct{}
	Err  error
	// Queued is when Submit queued the entry, Admitted when it entered
	// the running set (zero if it never did): its queue wait. Read them
	// after Done is closed.
	Queued, Admitted time.Time

	pending *decode.Work
}

// Work returns the entry's work for this step (valid until Finish or Ran).
func (e *Entry) Work() *decode.Work { return e.pending }

// Scheduler holds waiting and running entries. Safe for concurrent use.
type Scheduler struct {
	lim     Limits
	pool    *kvcache.Pool
	mu      sync.Mutex
	waiting []*Entry
	running []*Entry
	wake    chan struct{}
}

// New returns a scheduler that draws KV memory from pool.
func New(pool *kvcache.Pool, lim Limits) *Scheduler {
	lim.defaults()
	return &Scheduler{lim: lim, pool: pool, wake: make(chan struct{}, 1)}
}

// Wake is signalled whenever work arrives.
func (s *Scheduler) Wake() <-chan struct{} { return s.wake }

// Submit queues an entry or fails with ErrBusy. A request too large for the
// whole pool fails at once with kvcache.ErrBudget.
func (s *Scheduler) Submit(e *Entry) error {
	if b := s.pool.Budget(); b > 0 && s.pool.BytesFor(e.NeedRows)+s.pool.ChargeBytes(e.ChargeBytes) > b {
		if e.ChargeBytes > 0 {
			return fmt.Errorf("%w: request needs %d KV rows (%d bytes in pages) and %d bytes beside them (%d in pages), budget is %d bytes",
				kvcache.ErrBudget, e.NeedRows, s.pool.BytesFor(e.NeedRows), e.ChargeBytes, s.pool.ChargeBytes(e.ChargeBytes), b)
		}
		return fmt.Errorf("%w: request needs %d KV rows (%d bytes in pages), budget is %d bytes", kvcache.ErrBudget, e.NeedRows, s.pool.BytesFor(e.NeedRows), b)
	}
	s.mu.Lock()
	if len(s.waiting) >= s.lim.MaxQueue {
		s.mu.Unlock()
		return ErrBusy
	}
	e.Done, e.Queued = make(chan struct{}), time.Now()
	s.waiting = append(s.waiting, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Load reports the number of waiting and running entries.
func (s *Scheduler) Load() (waiting, running int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting), len(s.running)
}

// Step drops cancelled and finished entries, admits waiting ones that fit,
// and returns the entries whose pending work goes into the next forward.
func (s *Scheduler) Step() []*Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = s.reap(s.running)
	s.waiting = s.reap(s.waiting)
	s.running = s.prepare(s.running)
	for len(s.waiting) > 0 && len(s.running) < s.lim.MaxRunning {
		e := s.waiting[0]
		if !admit(s.pool, e) {
			break // wait for memory; FIFO keeps big requests from starving
		}
		s.waiting = s.waiting[1:]
		e.Admitted = time.Now()
		s.running = append(s.running, s.prepare([]*Entry{e})...)
	}
	var batch []*Entry
	rows, logitRows := 0, 0
	for _, e := range s.running {
		n, l := len(e.pending.Tokens), len(e.pending.LogitRows)
		if len(batch) > 0 && (rows+n > s.lim.MaxRows || logitRows+l > s.lim.MaxLogitRows) {
			continue // next step
		}
		batch = append(batch, e)
		rows += n
		logitRows += l
	}
	// Branches (FreeDave's candidate states) are optional rows: they get
	// what the steps above leave, oldest entry first, and never push a
	// step out; a sequence gets the rows of the branches that ran.
	for _, e := range batch {
		keep := 0
		for _, b := range e.pending.Branches {
			n, l := len(b.Tokens), len(b.LogitRows)
			if rows+n > s.lim.MaxRows || logitRows+l > s.lim.MaxLogitRows {
				break
			}
			rows, logitRows, keep = rows+n, logitRows+l, keep+1
		}
		e.pending.Branches = e.pending.Branches[:keep]
	}
	return batch
}

// prepare asks each entry without pending work for its next forward and
// finishes the ones that have none.
func (s *Scheduler) prepare(list []*Entry) []*Entry {
	kept := list[:0]
	for _, e := range list {
		if e.pending == nil {
			w, ok := e.Seq.Next()
			if !ok {
				s.finishLocked(e, nil)
				continue
			}
			e.pending = &w
		}
		kept = append(kept, e)
	}
	return kept
}

// Ran marks an entry's pending work as executed.
func (s *Scheduler) Ran(e *Entry) { e.pending = nil }

// Fail removes an entry with an error (a forward failed).
func (s *Scheduler) Fail(e *Entry, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.running {
		if r == e {
			s.running = append(s.running[:i], s.running[i+1:]...)
			break
		}
	}
	s.finishLocked(e, err)
}

func (s *Scheduler) reap(list []*Entry) []*Entry {
	kept := list[:0]
	for _, e := range list {
		if err := e.Ctx.Err(); err != nil {
			s.finishLocked(e, err)
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// admit gives e its cache: empty, or a fork of its prefix, with NeedRows
// reserved and ChargeBytes charged. False: not enough memory now.
func admit(pool *kvcache.Pool, e *Entry) bool {
	var c *kvcache.Sequence
	if e.Prefix != nil {
		var err error
		if c, err = e.Prefix.Fork(e.PrefixRows, e.NeedRows); err != nil {
			return false
		}
	} else {
		c = pool.NewSequence()
		if err := c.Reserve(e.NeedRows); err != nil {
			return false
		}
	}
	if err := c.Charge(e.ChargeBytes); err != nil {
		c.Free()
		return false
	}
	e.Cache = c
	if e.Prefix != nil {
		e.release()
	}
	return true
}

func (e *Entry) release() {
	if e.Release != nil {
		e.Release()
		e.Release = nil
	}
}

func (s *Scheduler) finishLocked(e *Entry, err error) {
	e.release()
	if e.Cache != nil {
		e.Cache.Free()
	}
	e.Err = err
	close(e.Done)
}
