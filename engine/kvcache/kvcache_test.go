package kvcache

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"dlmstream/kernels/cpu"
)

// rowsOf is n rows of width d (d ≤ 4, pos+n ≤ 14) whose values name their
// row and layer.
func rowsOf(layer, pos, n, d int, sign float32) []float32 {
	x := make([]float32, n*d)
	for r := range n {
		for c := range d {
			x[r*d+c] = sign * float32(64*layer+4*(pos+r)+c) // below 256: exact in bf16
		}
	}
	return x
}

func TestReserveWriteCommit(t *testing.T) {
	for _, o := range []Options{{Layers: 2, KVDim: 3}, {Layers: 2, KVDim: 3, PageRows: 1}, {Layers: 2, KVDim: 4, KVHeads: 2, PageRows: 4, DType: BF16}} {
		t.Run(fmt.Sprintf("%v/page%d", o.DType, o.PageRows), func(t *testing.T) {
			p := NewPoolWith(o)
			pr := p.Options().PageRows
			s := p.NewSequence()
			if err := s.Reserve(5); err != nil {
				t.Fatal(err)
			}
			if s.Cap() != (5+pr-1)/pr*pr || p.Used() != int64(s.Cap())*p.RowBytes() || p.BytesFor(5) != p.Used() {
				t.Fatalf("cap %d used %d BytesFor %d", s.Cap(), p.Used(), p.BytesFor(5))
			}
			d := o.KVDim
			k, v := rowsOf(1, 2, 2, d, 1), rowsOf(1, 2, 2, d, -1)
			s.Write(1, 2, k, v)
			s.Commit(4)
			if err := s.Reserve(40); err != nil { // growth keeps contents
				t.Fatal(err)
			}
			gk, gv := s.Read(1, 2, 2)
			if !slices.Equal(gk, k) || !slices.Equal(gv, v) { // small integers: exact in bf16
				t.Fatalf("rows after growth: k=%v v=%v", gk, gv)
			}
			if s.Len() != 4 {
				t.Fatalf("Len = %d", s.Len())
			}
			s.Truncate(2)
			if s.Len() != 2 {
				t.Fatalf("Len after truncate = %d", s.Len())
			}
			s.Free()
			if p.Used() != 0 || s.Cap() != 0 {
				t.Fatalf("used after free = %d, cap %d", p.Used(), s.Cap())
			}
		})
	}
}

// TestBF16Rounding: bf16 pages hold what cpu.F32ToBF16 rounds to, and the
// attention view widens it back exactly.
func TestBF16Rounding(t *testing.T) {
	p := NewPoolWith(Options{Layers: 1, KVDim: 4, DType: BF16})
	if p.RowBytes() != 1*4*2*2 {
		t.Fatalf("RowBytes = %d, want 16", p.RowBytes())
	}
	s := p.NewSequence()
	if err := s.Reserve(1); err != nil {
		t.Fatal(err)
	}
	x := []float32{1.00390625, -3.14159, 1e-30, 65504.7}
	s.Write(0, 0, x, x)
	k, _ := s.Read(0, 0, 1)
	b := make([]uint16, len(x))
	cpu.F32ToBF16(b, x)
	for i := range x {
		if w := math.Float32frombits(uint32(b[i]) << 16); k[i] != w {
			t.Fatalf("k[%d] = %v, want %v (bf16 of %v)", i, k[i], w, x[i])
		}
	}
}

// TestBudget: reservations take whole pages within the budget, fail with
// ErrBudget reserving nothing, and fit again after a Free; an External pool
// keeps the same books.
func TestBudget(t *testing.T) {
	for _, ext := range []bool{false, true} {
		t.Run(fmt.Sprintf("External=%t", ext), func(t *testing.T) {
			o := Options{Layers: 1, KVDim: 4, PageRows: 2, Budget: 32 * 10, External: ext} // 5 pages of 2 rows of 32 bytes
			if ext {
				o.CopyPage = func(dst, src int) {}
			}
			p := NewPoolWith(o)
			if p.FreePages() != 5 || p.MaxPages() != 5 {
				t.Fatalf("FreePages = %d, MaxPages = %d, want 5", p.FreePages(), p.MaxPages())
			}
			a := p.NewSequence()
			if err := a.Reserve(7); err != nil { // 4 pages
				t.Fatal(err)
			}
			b := p.NewSequence()
			if err := b.Reserve(4); !errors.Is(err, ErrBudget) {
				t.Fatalf("second reservation: err = %v, want ErrBudget", err)
			}
			if b.Cap() != 0 || p.FreePages() != 1 {
				t.Fatalf("failed reservation kept %d rows, %d pages free", b.Cap(), p.FreePages())
			}
			if err := b.Reserve(2); err != nil {
				t.Fatalf("exact fit: %v", err)
			}
			a.Free()
			if err := b.Reserve(9); err != nil {
				t.Fatalf("after free: %v", err)
			}
			o.Budget = 10
			if u := NewPoolWith(o); u.FreePages() != 0 || u.MaxPages() != 0 || u.NewSequence().Reserve(1) == nil {
				t.Fatal("a budget below one page holds a page")
			}
		})
	}
	if u := NewPool(1, 4, 0); u.FreePages() != -1 || u.MaxPages() != -1 {
		t.Fatalf("unlimited pool: FreePages = %d, MaxPages = %d", u.FreePages(), u.MaxPages())
	}
}

// TestForkShares: a fork shares the pages of its prefix (memory counted
// once), sees the source's rows, and writing either side copies the page it
// writes, so the other never sees it; freeing both frees everything.
func TestForkShares(t *testing.T) {
	for _, dt := range []DType{F32, BF16} {
		t.Run(dt.String(), func(t *testing.T) {
			p := NewPoolWith(Options{Layers: 2, KVDim: 2, KVHeads: 2, PageRows: 4, DType: dt})
			s := p.NewSequence()
			if err := s.Reserve(8); err != nil {
				t.Fatal(err)
			}
			for l := range 2 {
				s.Write(l, 0, rowsOf(l, 0, 7, 2, 1), rowsOf(l, 0, 7, 2, -1))
			}
			s.Commit(7)
			used := p.Used()
			f, err := s.Fork(6, 10) // shares pages 0 and 1 (rows 0-7), adds one
			if err != nil {
				t.Fatal(err)
			}
			if f.Len() != 6 || f.Cap() != 12 || p.Used() != used+p.PageBytes() {
				t.Fatalf("fork: Len %d Cap %d used %d, want 6, 12, %d", f.Len(), f.Cap(), p.Used(), used+p.PageBytes())
			}
			if h := HeldBytes([]*Sequence{s, f}); h != p.Used() {
				t.Fatalf("HeldBytes = %d, pool uses %d", h, p.Used())
			}
			k, v := f.Read(1, 0, 6)
			if !slices.Equal(k, rowsOf(1, 0, 6, 2, 1)) || !slices.Equal(v, rowsOf(1, 0, 6, 2, -1)) {
				t.Fatalf("fork rows: k=%v v=%v", k, v)
			}
			// The fork writes its scratch row 6, inside the shared page 1
			// where the source has committed row 6.
			f.Write(1, 6, []float32{0, 0}, []float32{0, 0})
			if k6, _ := s.Read(1, 6, 1); !slices.Equal(k6, rowsOf(1, 6, 1, 2, 1)) {
				t.Fatalf("writing the fork changed the source: %v", k6)
			}
			if k5, _ := f.Read(0, 5, 1); !slices.Equal(k5, rowsOf(0, 5, 1, 2, 1)) {
				t.Fatalf("the fork's copied page lost layer 0 row 5: %v", k5)
			}
			if p.Used() != used+2*p.PageBytes() {
				t.Fatalf("after copy on write: used %d, want %d", p.Used(), used+2*p.PageBytes())
			}
			// The source writes its scratch row 7 in page 1, now its own,
			// and row 0 of page 0, still shared: copied too.
			s.Write(0, 0, []float32{9, 9}, []float32{9, 9})
			if k0, _ := f.Read(0, 0, 1); !slices.Equal(k0, rowsOf(0, 0, 1, 2, 1)) {
				t.Fatalf("writing the source changed the fork: %v", k0)
			}
			if _, err := s.Fork(s.Cap()+1, 0); err == nil {
				t.Fatal("fork beyond the reserved rows: no error")
			}
			f.Free()
			s.Free()
			if p.Used() != 0 {
				t.Fatalf("used after free = %d", p.Used())
			}
		})
	}
}

// TestForkBudget: a fork that cannot reserve its extra rows fails and
// leaves the shared pages to the source.
func TestForkBudget(t *testing.T) {
	p := NewPoolWith(Options{Layers: 1, KVDim: 1, PageRows: 2, Budget: 3 * 2 * 8}) // 3 pages
	s := p.NewSequence()
	if err := s.Reserve(4); err != nil {
		t.Fatal(err)
	}
	s.Commit(4)
	if _, err := s.Fork(4, 10); !errors.Is(err, ErrBudget) {
		t.Fatalf("fork past the budget: err = %v", err)
	}
	if p.Used() != 2*p.PageBytes() {
		t.Fatalf("used %d after a failed fork, want %d", p.Used(), 2*p.PageBytes())
	}
	f, err := s.Fork(4, 6)
	if err != nil {
		t.Fatal(err)
	}
	s.Free()
	if p.Used() != 3*p.PageBytes() || f.Len() != 4 {
		t.Fatalf("the fork outlives its source: used %d, Len %d", p.Used(), f.Len())
	}
	f.Free()
	if p.Used() != 0 {
		t.Fatalf("used after free = %d", p.Used())
	}
}

// TestPagesReused: freed pages serve the next reservation (the pool grows
// to its peak, not with every request).
func TestPagesReused(t *testing.T) {
	p := NewPoolWith(Options{Layers: 1, KVDim: 1, PageRows: 2})
	for range 3 {
		s := p.NewSequence()
		if err := s.Reserve(6); err != nil {
			t.Fatal(err)
		}
		s.Free()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) != 3 || p.inUse != 0 {
		t.Fatalf("%d free pages, %d in use; want 3 and 0", len(p.free), p.inUse)
	}
}
