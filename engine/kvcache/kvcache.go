// Package kvcache stores the keys and values of committed positions.
//
// For block-causal models (SDAR, Fast-dLLM v2) a committed block never sees
// later tokens, so its K/V are exact and final, as in an autoregressive
// cache. A Sequence holds, per layer, K and V rows [position, kv_dim] (keys
// after RoPE). Rows below Len() are committed; rows from Len() up to the
// reserved capacity are scratch that a forward pass may write (the block
// being denoised) and a later forward may read or overwrite.
//
// Memory is drawn from a Pool with a byte budget, which is the engine's
// backpressure: a sequence that cannot reserve rows gets ErrBudget.
package kvcache

import (
	"errors"
	"fmt"
	"sync"
)

// ErrBudget is returned when a reservation would exceed the pool's budget.
var ErrBudget = errors.New("kvcache: memory budget exhausted")

// Pool accounts for the bytes of all sequences of one model.
type Pool struct {
	Layers, KVDim int
	mu            sync.Mutex
	budget, used  int64 // bytes; budget 0 = unlimited
}

// NewPool returns a pool for a model with the given layer count and K/V width;
// budget is in bytes (0 = unlimited).
func NewPool(layers, kvDim int, budget int64) *Pool {
	return &Pool{Layers: layers, KVDim: kvDim, budget: budget}
}

// RowBytes is the memory one position costs across all layers (K and V, fp32).
func (p *Pool) RowBytes() int64 { return int64(p.Layers) * int64(p.KVDim) * 2 * 4 }

// Budget is the pool's byte budget (0 = unlimited).
func (p *Pool) Budget() int64 { return p.budget }

// Used reports the bytes currently reserved.
func (p *Pool) Used() int64 { p.mu.Lock(); defer p.mu.Unlock(); return p.used }

func (p *Pool) take(n int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.budget > 0 && p.used+n > p.budget {
		return fmt.Errorf("%w: need %d more bytes, %d of %d in use", ErrBudget, n, p.used, p.budget)
	}
	p.used += n
	return nil
}

func (p *Pool) give(n int64) { p.mu.Lock(); p.used -= n; p.mu.Unlock() }

// Sequence is the cache of one sequence.
type Sequence struct {
	pool *Pool
	k, v [][]float32 // per layer: [capacity, KVDim]
	cap  int         // reserved rows
	n    int         // committed rows
}

// NewSequence returns an empty cache drawing on p.
func (p *Pool) NewSequence() *Sequence {
	return &Sequence{pool: p, k: make([][]float32, p.Layers), v: make([][]float32, p.Layers)}
}

// ** used by model implementations **

// Write copies rows [pos, pos+rows) of one layer: k, v are [rows, KVDim].
// The rows must have been reserved.
func (s *Sequence) Write(layer, pos int, k, v []float32) {
	d := s.pool.KVDim
	rows := len(k) / d
	if pos+rows > s.cap {
		panic(fmt.Sprintf("kvcache: write rows [%d, %d) beyond reserved %d", pos, pos+rows, s.cap))
	}
	copy(s.k[layer][pos*d:], k)
	copy(s.v[layer][pos*d:], v)
}

// Rows returns one layer's K and V rows [0, n): [n, KVDim] each, aliasing
// the cache.
func (s *Sequence) Rows(layer, n int) (k, v []float32) {
	if n > s.cap {
		panic(fmt.Sprintf("kvcache: read %d rows, %d reserved", n, s.cap))
	}
	d := s.pool.KVDim
	return s.k[layer][:n*d], s.v[layer][:n*d]
}

// ** used by the engine **

// Len is the number of committed positions.
func (s *Sequence) Len() int { return s.n }

// Cap is the number of reserved positions.
func (s *Sequence) Cap() int { return s.cap }

// Reserve makes room for at least n positions (committed plus scratch),
// growing geometrically. It fails with ErrBudget when the pool is full.
func (s *Sequence) Reserve(n int) error {
	if n <= s.cap {
		return nil
	}
	newCap := max(n, 2*s.cap, 16)
	if err := s.pool.take(int64(newCap-s.cap) * s.pool.RowBytes()); err != nil {
		if newCap == n {
			return err
		}
		newCap = n // retry without headroom
		if err := s.pool.take(int64(newCap-s.cap) * s.pool.RowBytes()); err != nil {
			return err
		}
	}
	d := s.pool.KVDim
	for l := range s.k {
		k := make([]float32, newCap*d)
		v := make([]float32, newCap*d)
		copy(k, s.k[l][:s.cap*d])
		copy(v, s.v[l][:s.cap*d])
		s.k[l], s.v[l] = k, v
	}
	s.cap = newCap
	return nil
}

// Commit marks rows [0, n) as committed; n must not exceed Cap.
func (s *Sequence) Commit(n int) {
	if n > s.cap || n < 0 {
		panic(fmt.Sprintf("kvcache: commit %d rows, %d reserved", n, s.cap))
	}
	s.n = n
}

// Fork returns a new sequence in the same pool holding a copy of rows
// [0, n) as committed rows, with room reserved for want positions (at
// least n): several continuations of one prefix (choices scored side by
// side) then share its prefill.
func (s *Sequence) Fork(n, want int) (*Sequence, error) {
	if n > s.cap || n < 0 {
		return nil, fmt.Errorf("kvcache: fork %d rows, %d reserved", n, s.cap)
	}
	f := s.pool.NewSequence()
	if err := f.Reserve(max(n, want)); err != nil {
		return nil, err
	}
	d := s.pool.KVDim
	for l := range s.k {
		copy(f.k[l], s.k[l][:n*d])
		copy(f.v[l], s.v[l][:n*d])
	}
	f.n = n
	return f, nil
}

// Truncate drops committed rows from n on (they become scratch).
func (s *Sequence) Truncate(n int) { s.n = min(s.n, max(n, 0)) }

// Free returns the sequence's memory to the pool; the sequence is empty after.
func (s *Sequence) Free() {
	s.pool.give(int64(s.cap) * s.pool.RowBytes())
	for l := range s.k {
		s.k[l], s.v[l] = nil, nil
	}
	s.cap, s.n = 0, 0
}
