package kvcache

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// copies records the CopyPage calls of a pool.
type copies struct {
	mu    sync.Mutex
	calls [][2]int // dst, src
}

func (c *copies) copyPage(dst, src int) {
	c.mu.Lock()
	c.calls = append(c.calls, [2]int{dst, src})
	c.mu.Unlock()
}

func (c *copies) take() [][2]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// external returns an External pool of pages rows positions, budget pages
// pages, recording copies in c.
func external(rows, pages int, c *copies) *Pool {
	o := Options{Layers: 2, KVDim: 2, PageRows: rows, External: true, CopyPage: c.copyPage}
	o.Budget = int64(pages) * NewPoolWith(Options{Layers: 2, KVDim: 2, PageRows: rows}).PageBytes()
	return NewPoolWith(o)
}

// TestPageIDs: a sequence's page ids are distinct, within MaxPages where
// there is a budget, stable as it grows, read without allocating, and the
// ids of freed pages serve the next reservation.
func TestPageIDs(t *testing.T) {
	var c copies
	for _, tc := range []struct {
		name string
		pool *Pool
	}{
		{"host/unlimited", NewPoolWith(Options{Layers: 2, KVDim: 2, PageRows: 4})},
		{"host/bf16/budget", NewPoolWith(Options{Layers: 2, KVDim: 2, PageRows: 4, DType: BF16, Budget: 8 * 64})}, // 8 pages of 4 rows × 2 layers × K, V of 2 × 2 bytes
		{"external", external(4, 8, &c)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.pool
			s := p.NewSequence()
			if ids := s.PageIDs(); len(ids) != 0 {
				t.Fatalf("empty sequence: ids %v", ids)
			}
			if err := s.Reserve(10); err != nil { // 3 pages
				t.Fatal(err)
			}
			ids := slices.Clone(s.PageIDs())
			if len(ids) != 3 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 3 {
				t.Fatalf("ids %v: want 3 distinct", ids)
			}
			if a := testing.AllocsPerRun(10, func() { s.PageIDs() }); a != 0 {
				t.Fatalf("PageIDs allocates %v times a call", a)
			}
			if err := s.Reserve(32); err != nil { // 8 pages
				t.Fatal(err)
			}
			grown := slices.Clone(s.PageIDs())
			if len(grown) != 8 || !slices.Equal(grown[:3], ids) {
				t.Fatalf("ids after growth %v, want %v first", grown, ids)
			}
			for _, id := range grown {
				if id < 0 || (p.MaxPages() >= 0 && int(id) >= p.MaxPages()) {
					t.Fatalf("id %d outside [0, %d)", id, p.MaxPages())
				}
			}
			s.Free()
			r := p.NewSequence()
			if err := r.Reserve(32); err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(slices.Values(r.PageIDs())); !slices.Equal(got, slices.Sorted(slices.Values(grown))) {
				t.Fatalf("ids after free %v, want the freed ones %v", got, grown)
			}
			r.Free()
		})
	}
}

// TestForkSharesIDs: a fork's shared pages have the source's ids; the
// pages it reserves beyond them are new.
func TestForkSharesIDs(t *testing.T) {
	var c copies
	p := external(4, 8, &c)
	s := p.NewSequence()
	if err := s.Reserve(12); err != nil {
		t.Fatal(err)
	}
	f, err := s.Fork(6, 12) // shares pages 0 and 1
	if err != nil {
		t.Fatal(err)
	}
	si, fi := s.PageIDs(), f.PageIDs()
	if !slices.Equal(fi[:2], si[:2]) || slices.Contains(si, fi[2]) {
		t.Fatalf("source ids %v, fork ids %v: want the first two shared, the third new", si, fi)
	}
	if len(c.take()) != 0 {
		t.Fatal("Fork copied a page")
	}
}

// TestOwn: Own copies exactly the shared pages under the rows, once each,
// calling CopyPage(dst, src): the owner's ids then show dst, the other
// holder keeps src, and a page already owned costs nothing.
func TestOwn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fork   bool // own on the fork, else on the source
		p0, p1 int
		pages  []int // page indices copied
	}{
		{"fork/scratch in shared page", true, 6, 8, []int{1}},
		{"fork/own page", true, 8, 12, nil},
		{"fork/all shared", true, 0, 8, []int{0, 1}},
		{"source/across shared pages", false, 3, 5, []int{0, 1}},
		{"source/unshared page", false, 8, 9, nil},
		{"empty", true, 5, 5, nil},
	} {
		for _, ext := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/External=%t", tc.name, ext), func(t *testing.T) {
				var c copies
				p := NewPoolWith(Options{Layers: 2, KVDim: 2, PageRows: 4, CopyPage: c.copyPage})
				if ext {
					p = external(4, 16, &c)
				}
				s := p.NewSequence()
				if err := s.Reserve(12); err != nil {
					t.Fatal(err)
				}
				if !ext {
					for l := range 2 {
						s.Write(l, 0, rowsOf(l, 0, 8, 2, 1), rowsOf(l, 0, 8, 2, -1))
					}
				}
				f, err := s.Fork(6, 12) // shares pages 0 and 1
				if err != nil {
					t.Fatal(err)
				}
				own, other := s, f
				if tc.fork {
					own, other = f, s
				}
				before, otherBefore, used := slices.Clone(own.PageIDs()), slices.Clone(other.PageIDs()), p.Used()
				if err := own.Own(tc.p0, tc.p1); err != nil {
					t.Fatal(err)
				}
				calls, after := c.take(), own.PageIDs()
				if len(calls) != len(tc.pages) {
					t.Fatalf("CopyPage calls %v, want one for each of pages %v", calls, tc.pages)
				}
				for j, i := range tc.pages {
					if calls[j] != [2]int{int(after[i]), int(before[i])} {
						t.Fatalf("copy %d: CopyPage%v, want (%d, %d)", j, calls[j], after[i], before[i])
					}
				}
				for i := range after {
					if copied := slices.Contains(tc.pages, i); copied == (after[i] == before[i]) {
						t.Fatalf("page %d: id %d, was %d, copied %t", i, after[i], before[i], copied)
					}
				}
				if !slices.Equal(other.PageIDs(), otherBefore) {
					t.Fatalf("the other holder's ids changed: %v, were %v", other.PageIDs(), otherBefore)
				}
				if p.Used() != used+int64(len(tc.pages))*p.PageBytes() {
					t.Fatalf("used %d, want %d", p.Used(), used+int64(len(tc.pages))*p.PageBytes())
				}
				if err := own.Own(tc.p0, tc.p1); err != nil || len(c.take()) != 0 {
					t.Fatalf("owning the rows again: err %v or a copy", err)
				}
				if !ext { // a host pool copies the rows as well
					for l := range 2 {
						if k, v := own.Read(l, 0, 6); !slices.Equal(k, rowsOf(l, 0, 6, 2, 1)) || !slices.Equal(v, rowsOf(l, 0, 6, 2, -1)) {
							t.Fatalf("layer %d after Own: k=%v v=%v", l, k, v)
						}
					}
				}
				f.Free()
				s.Free()
				if p.Used() != 0 {
					t.Fatalf("used after free = %d", p.Used())
				}
			})
		}
	}
}

// TestOwnBounds: Own panics on rows that are not reserved, like Write.
func TestOwnBounds(t *testing.T) {
	p := NewPoolWith(Options{Layers: 1, KVDim: 1, PageRows: 4})
	s := p.NewSequence()
	if err := s.Reserve(4); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int{{-1, 1}, {0, 5}, {3, 2}} {
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			defer func() {
				if e := recover(); e == nil || !strings.Contains(fmt.Sprint(e), "kvcache: own rows") {
					t.Fatalf("Own%v: panic %v", r, e)
				}
			}()
			_ = s.Own(r[0], r[1])
		})
	}
}

// TestOwnPastBudget: copy on write on a full pool. A host pool copies past
// its budget and admits nothing more until pages are freed; an External
// pool, whose ids must stay below MaxPages, fails with ErrBudget and copies
// nothing.
func TestOwnPastBudget(t *testing.T) {
	for _, ext := range []bool{false, true} {
		t.Run(fmt.Sprintf("External=%t", ext), func(t *testing.T) {
			var c copies
			p := external(4, 3, &c)
			if !ext {
				p = NewPoolWith(Options{Layers: 2, KVDim: 2, PageRows: 4, Budget: p.Budget(), CopyPage: c.copyPage})
			}
			s := p.NewSequence()
			if err := s.Reserve(8); err != nil {
				t.Fatal(err)
			}
			f, err := s.Fork(8, 8) // shares both pages; one page left
			if err != nil {
				t.Fatal(err)
			}
			ids := slices.Clone(f.PageIDs())
			err = f.Own(0, 8) // two copies, one page free
			if ext {
				if !errors.Is(err, ErrBudget) || len(c.take()) != 0 || !slices.Equal(f.PageIDs(), ids) || p.FreePages() != 1 {
					t.Fatalf("Own past the budget: err %v, ids %v (were %v), %d free", err, f.PageIDs(), ids, p.FreePages())
				}
				if err := f.Own(4, 8); err != nil || len(c.take()) != 1 || p.FreePages() != 0 {
					t.Fatalf("Own of one page with one free: err %v, %d free", err, p.FreePages())
				}
			} else if err != nil || len(c.take()) != 2 {
				t.Fatalf("host Own past the budget: err %v", err)
			}
			if p.FreePages() != 0 {
				t.Fatalf("FreePages = %d on a full pool", p.FreePages())
			}
			if err := p.NewSequence().Reserve(1); !errors.Is(err, ErrBudget) {
				t.Fatalf("reservation on a pool past its budget: err = %v", err)
			}
			for _, id := range f.PageIDs() {
				if ext && int(id) >= p.MaxPages() {
					t.Fatalf("id %d past MaxPages %d", id, p.MaxPages())
				}
			}
			f.Free()
			s.Free()
			if p.FreePages() != 3 {
				t.Fatalf("FreePages = %d after free, want 3", p.FreePages())
			}
		})
	}
}

// TestExternalHostless: an External pool's pages carry no storage, even
// after copy on write, and the host accessors panic saying so.
func TestExternalHostless(t *testing.T) {
	var c copies
	p := external(4, 8, &c)
	s := p.NewSequence()
	if err := s.Reserve(8); err != nil {
		t.Fatal(err)
	}
	f, err := s.Fork(6, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Own(0, 8); err != nil {
		t.Fatal(err)
	}
	for _, pg := range slices.Concat(s.pages, f.pages) {
		if pg.f32 != nil || pg.b16 != nil {
			t.Fatalf("page %d has host storage", pg.id)
		}
	}
	if h := HeldBytes([]*Sequence{s, f}); h != p.Used() || h != 4*p.PageBytes() {
		t.Fatalf("HeldBytes %d, Used %d, want %d", h, p.Used(), 4*p.PageBytes())
	}
	for name, call := range map[string]func(){
		"Write": func() { s.Write(0, 0, []float32{1, 2}, []float32{3, 4}) },
		"Read":  func() { s.Read(0, 0, 1) },
		"KV":    func() { s.KV(0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if e := fmt.Sprint(recover()); !strings.Contains(e, "kvcache: external pool has no host storage; "+name) {
					t.Fatalf("panic %q", e)
				}
			}()
			call()
		})
	}
}

// TestNewPoolExternal: an External pool without a budget or a CopyPage
// panics, naming the missing option.
func TestNewPoolExternal(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Layers: 1, KVDim: 1, External: true, CopyPage: func(int, int) {}}, "Options.Budget"},
		{Options{Layers: 1, KVDim: 1, External: true, Budget: 1 << 20}, "Options.CopyPage"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			defer func() {
				if e := fmt.Sprint(recover()); !strings.Contains(e, tc.want) {
					t.Fatalf("panic %q, want it to name %s", e, tc.want)
				}
			}()
			NewPoolWith(tc.o)
		})
	}
}

// TestExternalConcurrent: sequences forking, owning and freeing at once on
// one External pool never make an id at or past MaxPages, and every page
// comes back.
func TestExternalConcurrent(t *testing.T) {
	var c copies
	p := external(4, 64, &c)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := p.NewSequence()
				if err := s.Reserve(8 + g); err != nil {
					continue
				}
				f, err := s.Fork(6, 12)
				if err == nil {
					_ = f.Own(4, 12)
					_ = s.Own(i%8, 8)
					for _, id := range slices.Concat(s.PageIDs(), f.PageIDs()) {
						if int(id) >= p.MaxPages() {
							t.Errorf("id %d past MaxPages %d", id, p.MaxPages())
						}
					}
					f.Free()
				}
				s.Free()
			}
		})
	}
	wg.Wait()
	for _, cp := range c.take() {
		if cp[0] >= p.MaxPages() || cp[1] >= p.MaxPages() || cp[0] == cp[1] {
			t.Fatalf("CopyPage%v with MaxPages %d", cp, p.MaxPages())
		}
	}
	if p.Used() != 0 || p.FreePages() != p.MaxPages() {
		t.Fatalf("used %d, %d of %d pages free", p.Used(), p.FreePages(), p.MaxPages())
	}
}
