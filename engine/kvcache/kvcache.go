// Package kvcache stores the keys and values of committed positions.
//
// For block-causal models (SDAR, Fast-dLLM v2) a committed block never sees
// later tokens, so its K/V are exact and final, as in an autoregressive
// cache. A Sequence holds, per layer, K and V rows [position, kv_dim] (keys
// after RoPE). Rows below Len() are committed; rows from Len() up to the
// reserved capacity are scratch that a forward pass may write (the block
// being denoised) and a later forward may read or overwrite.
//
// Rows live in fixed-size pages of Options.PageRows positions (all layers'
// K and V of those positions), drawn from a Pool's free list, in fp32 or
// bf16 (rounded to nearest even on write, widened exactly on read, so
// attention still multiplies and sums in fp32). A sequence is a list of
// pages: memory is never reserved contiguously, and Fork shares the pages
// of a prefix with a reference count instead of copying them (the schema
// scorer's forks, image and audio prefixes, repeated system prompts). A
// shared page is copied the first time either holder writes into it.
//
// The pool's byte budget is the engine's backpressure: a sequence that
// cannot get pages gets ErrBudget, and the scheduler admits a request only
// when its pages are free.
//
// # External pools
//
// A pool with Options.External keeps only the bookkeeping: which pages
// exist, who holds them, the free list, forks, copy on write and the
// budget. The storage lives elsewhere (the CUDA backend's device memory),
// indexed by page id: every page has a stable id in [0, Pool.MaxPages),
// Sequence.PageIDs lists a sequence's pages in order, Sequence.Own makes
// rows writable before the owner writes them, and Options.CopyPage copies
// a shared page's storage when Own unshares it. The scheduler and the
// engine see the same Sequence and Pool either way.
package kvcache

import (
	"errors"
	"fmt"
	"sync"

	"dlmstream/kernels/cpu"
)

// ErrBudget is returned when a reservation would exceed the pool's budget.
var ErrBudget = errors.New("kvcache: memory budget exhausted")

// DType is how a pool stores K and V.
type DType uint8

const (
	F32  DType = iota // fp32: exactly what the model computed
	BF16              // bf16, round to nearest even: half the memory and bandwidth
)

func (d DType) String() string {
	if d == BF16 {
		return "bf16"
	}
	return "f32"
}

// DefaultPageRows is the page size, in positions, of a pool whose
// Options.PageRows is 0.
const DefaultPageRows = 16

// Options shape a Pool.
type Options struct {
	Layers, KVDim int   // the model's layer count and K/V width (kv heads × head_dim)
	KVHeads       int   // kv heads: a page keeps each head's rows together; 0: 1 (row-major pages)
	DType         DType // storage of K and V
	PageRows      int   // positions per page; 0: DefaultPageRows
	Budget        int64 // bytes; 0: unlimited

	// External pages carry no host storage: the pool only keeps the books,
	// and the caller stores page id i's K and V itself (PageBytes of them,
	// laid out as a host page would be). Write, Read and KV panic. External
	// needs a Budget, which fixes the ids to [0, MaxPages), and a CopyPage.
	// External pages are not zeroed on reuse: a page may hold a previous
	// holder's rows, which is harmless as long as the owner never reads
	// keys at or past a sequence's key length.
	External bool

	// CopyPage, when copy on write gives a sequence its own copy of a
	// shared page, copies the storage of page src to page dst. On an
	// External pool it is required and is the only copy; on a host pool it
	// is optional and runs after the host copy (to mirror or count copies).
	// It runs with the pool's lock held, so it must not call the pool or
	// its sequences. A device owner may enqueue the copy and return, as
	// long as it runs before any later write to either page (one stream
	// orders them): once its holders free src, the page may be reused.
	CopyPage func(dst, src int)
}

// Pool holds the pages of all sequences of one model.
type Pool struct {
	o         Options
	pageBytes int64
	maxPages  int // 0: unlimited

	mu      sync.Mutex
	free    []*page // pages with no holder, for reuse
	inUse   int     // pages with a holder
	made    int     // pages ever made: the next page's id
	charged int     // pages' worth of memory sequences hold beside their pages (charge.go)
}

// page holds PageRows positions of every layer's K and V:
// [layer][K, V][KVHeads][PageRows][head_dim], in f32 or b16 (neither on an
// External pool).
type page struct {
	id  int32 // stable for the page's life, reused with it
	ref int   // holders (sequences), under Pool.mu
	f32 []float32
	b16 []uint16
}

// NewPool returns an fp32 pool for a model with the given layer count and
// K/V width; budget is in bytes (0 = unlimited).
func NewPool(layers, kvDim int, budget int64) *Pool {
	return NewPoolWith(Options{Layers: layers, KVDim: kvDim, Budget: budget})
}

// NewPoolWith returns a pool shaped by o. It panics when o asks for an
// External pool without a Budget or a CopyPage.
func NewPoolWith(o Options) *Pool {
	if o.External && o.Budget <= 0 {
		panic("kvcache: an External pool needs Options.Budget > 0 (it bounds the page ids to [0, Budget/PageBytes))")
	}
	if o.External && o.CopyPage == nil {
		panic("kvcache: an External pool needs Options.CopyPage (copy on write must copy the page's storage)")
	}
	if o.PageRows <= 0 {
		o.PageRows = DefaultPageRows
	}
	if o.KVHeads <= 0 || o.KVDim%o.KVHeads != 0 {
		o.KVHeads = 1
	}
	p := &Pool{o: o}
	p.pageBytes = int64(o.PageRows) * p.RowBytes()
	if o.Budget > 0 {
		p.maxPages = int(o.Budget / p.pageBytes)
		if p.maxPages == 0 {
			p.maxPages = -1 // a budget below one page holds none
		}
	}
	return p
}

// Options returns the pool's shape.
func (p *Pool) Options() Options { return p.o }

// RowBytes is the memory one position costs across all layers (K and V).
func (p *Pool) RowBytes() int64 {
	b := int64(4)
	if p.o.DType == BF16 {
		b = 2
	}
	return int64(p.o.Layers) * int64(p.o.KVDim) * 2 * b
}

// PageBytes is the memory of one page (on an External pool, the memory
// the owner holds per page).
func (p *Pool) PageBytes() int64 { return p.pageBytes }

// MaxPages is the number of page ids the budget allows, Budget/PageBytes:
// on an External pool every page id is in [0, MaxPages), so the owner can
// allocate the storage of all pages up front. It is -1 for an unlimited
// pool. On a host pool with a budget, copy on write may take the pool past
// its budget (see Own), so ids can reach MaxPages and beyond.
func (p *Pool) MaxPages() int {
	switch {
	case p.maxPages == 0:
		return -1
	case p.maxPages < 0:
		return 0
	}
	return p.maxPages
}

// BytesFor is the memory a sequence of rows positions holds (whole pages).
func (p *Pool) BytesFor(rows int) int64 { return int64(p.pagesFor(rows)) * p.pageBytes }

func (p *Pool) pagesFor(rows int) int { return (max(rows, 0) + p.o.PageRows - 1) / p.o.PageRows }

// Budget is the pool's byte budget (0 = unlimited).
func (p *Pool) Budget() int64 { return p.o.Budget }

// Used reports the bytes of the pages that have a holder (a page shared by
// several sequences counts once) and of the charges sequences hold
// (Sequence.Charge).
func (p *Pool) Used() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int64(p.inUse+p.charged) * p.pageBytes
}

// FreePages is how many more pages the budget allows now (-1: unlimited).
func (p *Pool) FreePages() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.freeLocked()
}

func (p *Pool) freeLocked() int {
	switch {
	case p.maxPages == 0:
		return -1
	case p.maxPages < 0:
		return 0
	}
	return max(p.maxPages-p.inUse-p.charged, 0) // copy on write may go past the budget
}

// take returns n pages, each with one holder, or ErrBudget and none.
func (p *Pool) take(n int) ([]*page, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.freeLocked(); f >= 0 && n > f {
		return nil, fmt.Errorf("%w: need %d more bytes, %d of %d in use", ErrBudget, int64(n)*p.pageBytes, int64(p.inUse+p.charged)*p.pageBytes, p.o.Budget)
	}
	out := make([]*page, n)
	for i := range out {
		out[i] = p.pageLocked()
		clear(out[i].f32) // a fresh reservation reads zeros, never another sequence's rows
		clear(out[i].b16) // (External pages have no storage to clear)
	}
	return out, nil
}

// pageLocked returns a page with one holder, from the free list or new,
// counted in use; its rows are whatever it last held. Under p.mu.
func (p *Pool) pageLocked() *page {
	var pg *page
	if k := len(p.free); k > 0 {
		pg, p.free = p.free[k-1], p.free[:k-1]
	} else {
		pg = &page{id: int32(p.made)}
		p.made++
		n := p.o.Layers * 2 * p.o.PageRows * p.o.KVDim
		switch {
		case p.o.External: // the owner holds the storage
		case p.o.DType == BF16:
			pg.b16 = make([]uint16, n)
		default:
			pg.f32 = make([]float32, n)
		}
	}
	pg.ref = 1
	p.inUse++
	return pg
}

// release drops one holder of each page; pages left with none go back to
// the free list. Under p.mu.
func (p *Pool) releaseLocked(pages []*page) {
	for _, pg := range pages {
		if pg.ref--; pg.ref == 0 {
			p.inUse--
			p.free = append(p.free, pg)
		}
	}
}

// Sequence is the cache of one sequence.
type Sequence struct {
	pool    *Pool
	pages   []*page
	n       int           // committed rows
	views   []cpu.PagedKV // per layer K then V over pages; nil: rebuild
	ids     []int32       // page ids; nil: rebuild
	charged int           // pages' worth of Charge, given back by Free
}

// NewSequence returns an empty cache drawing on p.
func (p *Pool) NewSequence() *Sequence { return &Sequence{pool: p} }

// Pool is the pool the sequence draws on.
func (s *Sequence) Pool() *Pool { return s.pool }

// ** used by model implementations **

// Write stores rows [pos, pos+rows) of one layer: k, v are [rows, KVDim].
// The rows must have been reserved. A page shared with another sequence is
// copied first (Own), so the other sequence never sees the write.
func (s *Sequence) Write(layer, pos int, k, v []float32) {
	s.pool.hostOnly("Write")
	d := s.pool.o.KVDim
	rows := len(k) / d
	if pos < 0 || pos+rows > s.Cap() || len(v) != len(k) {
		panic(fmt.Sprintf("kvcache: write rows [%d, %d) beyond reserved %d (or %d keys, %d values)", pos, pos+rows, s.Cap(), len(k), len(v)))
	}
	if rows == 0 {
		return
	}
	_ = s.Own(pos, pos+rows) // never fails on a host pool
	kv := s.KV(layer)
	kv[0].Store(pos, k)
	kv[1].Store(pos, v)
}

// Own makes rows [p0, p1) writable by this sequence alone: every page
// under them that another sequence shares is replaced by a copy
// (Options.CopyPage copies its storage), so the others never see what this
// one writes there. Write calls it; the owner of an External pool calls it
// before writing the rows itself, then reads the new ids from PageIDs. The
// rows must be reserved (Own panics otherwise).
//
// On a host pool a copy may take the pool past its budget rather than fail
// a forward (it replaces a page the holder already counted as reserved, and
// the next admission sees the pool full), so Own never fails. On an
// External pool a copy needs a free page id: Own fails with ErrBudget,
// copying nothing, when there are fewer free pages than copies to make.
func (s *Sequence) Own(p0, p1 int) error {
	if p0 < 0 || p1 > s.Cap() || p0 > p1 {
		panic(fmt.Sprintf("kvcache: own rows [%d, %d), %d reserved", p0, p1, s.Cap()))
	}
	if p0 == p1 {
		return nil
	}
	pool := s.pool
	first, last := p0/pool.o.PageRows, (p1-1)/pool.o.PageRows
	pool.mu.Lock()
	defer pool.mu.Unlock()
	if pool.o.External {
		need := 0
		for _, pg := range s.pages[first : last+1] {
			if pg.ref > 1 {
				need++
			}
		}
		if f := pool.freeLocked(); need > f {
			return fmt.Errorf("%w: copy on write of rows [%d, %d) needs %d more pages, %d free", ErrBudget, p0, p1, need, f)
		}
	}
	for i := first; i <= last; i++ {
		old := s.pages[i]
		if old.ref == 1 {
			continue
		}
		cp := pool.pageLocked()
		copy(cp.f32, old.f32)
		copy(cp.b16, old.b16)
		if pool.o.CopyPage != nil {
			pool.o.CopyPage(int(cp.id), int(old.id))
		}
		old.ref--
		s.pages[i] = cp
		s.views, s.ids = nil, nil
	}
	return nil
}

// PageIDs returns the ids of the sequence's pages in order: page i holds
// positions [i*PageRows, (i+1)*PageRows). The slice is the sequence's own:
// read it, do not change it, and only until the next Reserve, Own, Write,
// Fork or Free of this sequence.
func (s *Sequence) PageIDs() []int32 {
	if s.ids == nil && len(s.pages) > 0 {
		s.ids = make([]int32, len(s.pages))
		for i, pg := range s.pages {
			s.ids[i] = pg.id
		}
	}
	return s.ids
}

// hostOnly panics on an External pool, naming the method.
func (p *Pool) hostOnly(method string) {
	if p.o.External {
		panic("kvcache: external pool has no host storage; " + method + " is for host pools (use Own and PageIDs, and store the pages yourself)")
	}
}

// KV returns one layer's keys and values as pages ([0] keys, [1] values),
// over the reserved rows; valid until the next Reserve, Own, Write, Fork
// or Free of this sequence.
func (s *Sequence) KV(layer int) *[2]cpu.PagedKV {
	s.pool.hostOnly("KV")
	if s.views == nil {
		s.buildViews()
	}
	return (*[2]cpu.PagedKV)(s.views[2*layer : 2*layer+2])
}

func (s *Sequence) buildViews() {
	o := s.pool.o
	s.views = make([]cpu.PagedKV, 2*o.Layers)
	span := o.PageRows * o.KVDim
	for i := range s.views {
		v := &s.views[i]
		v.PageRows, v.Heads, v.HeadDim = o.PageRows, o.KVHeads, o.KVDim/o.KVHeads
		if o.DType == BF16 {
			v.BF16 = make([][]uint16, len(s.pages))
			for j, pg := range s.pages {
				v.BF16[j] = pg.b16[i*span : (i+1)*span]
			}
		} else {
			v.F32 = make([][]float32, len(s.pages))
			for j, pg := range s.pages {
				v.F32[j] = pg.f32[i*span : (i+1)*span]
			}
		}
	}
}

// Read copies one layer's K and V rows [pos, pos+n) out: [n, KVDim] each
// (as stored: bf16 pages give the rounded values).
func (s *Sequence) Read(layer, pos, n int) (k, v []float32) {
	s.pool.hostOnly("Read")
	if pos < 0 || n < 0 || pos+n > s.Cap() {
		panic(fmt.Sprintf("kvcache: read rows [%d, %d), %d reserved", pos, pos+n, s.Cap()))
	}
	d := s.pool.o.KVDim
	k, v = make([]float32, n*d), make([]float32, n*d)
	kv := s.KV(layer)
	kv[0].Load(k, pos, n)
	kv[1].Load(v, pos, n)
	return k, v
}

// ** used by the engine **

// Len is the number of committed positions.
func (s *Sequence) Len() int { return s.n }

// Cap is the number of reserved positions (whole pages).
func (s *Sequence) Cap() int { return len(s.pages) * s.pool.o.PageRows }

// Reserve makes room for at least n positions (committed plus scratch),
// taking whole pages from the pool. It fails with ErrBudget, reserving
// nothing, when the pool has too few.
func (s *Sequence) Reserve(n int) error {
	need := s.pool.pagesFor(n) - len(s.pages)
	if need <= 0 {
		return nil
	}
	pages, err := s.pool.take(need)
	if err != nil {
		return err
	}
	s.pages = append(s.pages, pages...)
	s.views, s.ids = nil, nil
	return nil
}

// Commit marks rows [0, n) as committed; n must not exceed Cap.
func (s *Sequence) Commit(n int) {
	if n > s.Cap() || n < 0 {
		panic(fmt.Sprintf("kvcache: commit %d rows, %d reserved", n, s.Cap()))
	}
	s.n = n
}

// Fork returns a new sequence in the same pool holding rows [0, n) as
// committed rows, with room reserved for want positions (at least n). The
// pages under rows [0, n) are shared, not copied: several continuations of
// one prefix (choices scored side by side, requests on one image or system
// prompt) share its prefill and its memory.
func (s *Sequence) Fork(n, want int) (*Sequence, error) {
	if n > s.Cap() || n < 0 {
		return nil, fmt.Errorf("kvcache: fork %d rows, %d reserved", n, s.Cap())
	}
	shared := s.pages[:s.pool.pagesFor(n)]
	s.pool.mu.Lock()
	for _, pg := range shared {
		pg.ref++
	}
	s.pool.mu.Unlock()
	f := &Sequence{pool: s.pool, pages: append([]*page(nil), shared...), n: n}
	if err := f.Reserve(max(n, want)); err != nil {
		f.Free()
		return nil, err
	}
	return f, nil
}

// Truncate drops committed rows from n on (they become scratch).
func (s *Sequence) Truncate(n int) { s.n = min(s.n, max(n, 0)) }

// Free returns the sequence's pages to the pool (a shared page stays with
// its other holders) and gives back its charges; the sequence is empty
// after.
func (s *Sequence) Free() {
	s.pool.mu.Lock()
	s.pool.releaseLocked(s.pages)
	s.pool.charged -= s.charged
	s.pool.mu.Unlock()
	s.pages, s.views, s.ids, s.n, s.charged = nil, nil, nil, 0, 0
}

// HeldBytes is the memory of the distinct pages the sequences hold
// together (a page two of them share counts once); on External pools, the
// memory their owner holds for those pages (the pool itself holds none).
func HeldBytes(seqs []*Sequence) int64 {
	seen := map[*page]bool{}
	var b int64
	for _, s := range seqs {
		for _, pg := range s.pages {
			if !seen[pg] {
				seen[pg] = true
				b += s.pool.pageBytes
			}
		}
	}
	return b
}
