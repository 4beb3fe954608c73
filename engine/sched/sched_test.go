package sched

import (
	"context"
	"errors"
	"strings"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/kvcache"
)

// fakeSeq needs `steps` forwards of `rows` tokens each, with `branches`
// optional branches of `rows` tokens each.
type fakeSeq struct {
	decode.Sequence
	rows, steps, ran, branches int
}

func (f *fakeSeq) Next() (decode.Work, bool) {
	if f.ran >= f.steps {
		return decode.Work{}, false
	}
	w := decode.Work{Tokens: make([]int32, f.rows), LogitRows: make([]int, f.rows)}
	for range f.branches {
		w.Branches = append(w.Branches, decode.Work{Tokens: make([]int32, f.rows), LogitRows: make([]int, 1)})
	}
	return w, true
}
func (f *fakeSeq) Apply([]float32) { f.ran++ }

func entry(ctx context.Context, rows, steps, need int) *Entry {
	return &Entry{Ctx: ctx, Seq: &fakeSeq{rows: rows, steps: steps}, NeedRows: need}
}

// run executes one scheduler step the way the engine loop does.
func run(s *Scheduler) []*Entry {
	b := s.Step()
	for _, e := range b {
		s.Ran(e)
		e.Seq.Apply(nil)
	}
	return b
}

func TestAdmissionByMemory(t *testing.T) {
	pool := kvcache.NewPool(1, 1, 8*100) // 100 rows
	s := New(pool, Limits{})
	a, b := entry(context.Background(), 1, 2, 60), entry(context.Background(), 1, 2, 60)
	for _, e := range []*Entry{a, b} {
		if err := s.Submit(e); err != nil {
			t.Fatal(err)
		}
	}
	if got := run(s); len(got) != 1 || got[0] != a {
		t.Fatalf("first step ran %d entries, want only a (b does not fit)", len(got))
	}
	if w, r := s.Load(); w != 1 || r != 1 {
		t.Fatalf("waiting %d running %d", w, r)
	}
	run(s) // a's second step
	run(s) // a finishes (Next false), b admitted and runs
	<-a.Done
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	run(s)
	run(s)
	<-b.Done
	if pool.Used() != 0 {
		t.Fatalf("pool holds %d bytes after both finished", pool.Used())
	}
	if err := s.Submit(entry(context.Background(), 1, 1, 101)); !errors.Is(err, kvcache.ErrBudget) {
		t.Fatalf("oversized request: err = %v, want ErrBudget", err)
	}
}

func TestBusyAndRowBudget(t *testing.T) {
	pool := kvcache.NewPool(1, 1, 0)
	s := New(pool, Limits{MaxQueue: 3, MaxRows: 10, MaxLogitRows: 100})
	es := []*Entry{entry(context.Background(), 6, 1, 1), entry(context.Background(), 6, 1, 1), entry(context.Background(), 3, 1, 1)}
	for _, e := range es {
		if err := s.Submit(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Submit(entry(context.Background(), 1, 1, 1)); !errors.Is(err, ErrBusy) {
		t.Fatalf("fourth submit: %v, want ErrBusy", err)
	}
	// 6 + 6 > 10: the second waits; the third (3 rows) still fits with the first.
	got := run(s)
	if len(got) != 2 || got[0] != es[0] || got[1] != es[2] {
		t.Fatalf("step batched %d entries, want entries 0 and 2", len(got))
	}
	if got := run(s); len(got) != 1 || got[0] != es[1] {
		t.Fatalf("second step: %d entries, want entry 1", len(got))
	}
}

func TestCancelledEntriesLeave(t *testing.T) {
	pool := kvcache.NewPool(1, 1, 0)
	s := New(pool, Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	e := entry(ctx, 2, 100, 50)
	s.Submit(e)
	run(s)
	if pool.Used() == 0 {
		t.Fatal("nothing reserved")
	}
	cancel()
	if got := run(s); len(got) != 0 {
		t.Fatalf("cancelled entry still scheduled")
	}
	<-e.Done
	if !errors.Is(e.Err, context.Canceled) || pool.Used() != 0 {
		t.Fatalf("err %v, pool %d bytes", e.Err, pool.Used())
	}
}

// Branches take the rows the entries' own steps leave, oldest first; they
// never keep another entry's step out of the forward.
func TestBranchesFillWhatIsLeft(t *testing.T) {
	tests := []struct {
		name     string
		maxRows  int
		branches []int // per entry, 3 branches of 10 rows each, own step 10 rows
		want     []int // branches kept per entry
		entries  int   // entries in the batch
	}{
		{"all fit", 200, []int{3, 3}, []int{3, 3}, 2},
		{"the older entry first", 60, []int{3, 3}, []int{3, 1}, 2},
		{"steps before branches", 30, []int{3, 3, 3}, []int{0, 0, 0}, 3},
		{"a lone entry keeps its step", 5, []int{3}, []int{0}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(kvcache.NewPool(1, 1, 0), Limits{MaxRows: tt.maxRows})
			for _, nb := range tt.branches {
				e := &Entry{Ctx: context.Background(), Seq: &fakeSeq{rows: 10, steps: 1, branches: nb}, NeedRows: 10}
				if err := s.Submit(e); err != nil {
					t.Fatal(err)
				}
			}
			b := s.Step()
			if len(b) != tt.entries {
				t.Fatalf("%d entries in the batch, want %d", len(b), tt.entries)
			}
			for i, e := range b {
				if got := len(e.Work().Branches); got != tt.want[i] {
					t.Errorf("entry %d: %d branches kept, want %d", i, got, tt.want[i])
				}
			}
		})
	}
}

// TestAdmissionCharges: an entry's ChargeBytes (FlashBlock's cache)
// counts against the budget with its KV rows: at Submit, for a request
// too large for the whole pool, and at admission, where an entry waits
// until its rows and its charge fit. A prefix fork whose charge does not
// fit is given back, and the prefix is released only once the entry is
// admitted; finished entries give their charges back.
func TestAdmissionCharges(t *testing.T) {
	pool := kvcache.NewPoolWith(kvcache.Options{Layers: 1, KVDim: 1, PageRows: 10, Budget: 8 * 100}) // 10 pages of 80 bytes
	s := New(pool, Limits{})
	ctx := context.Background()
	big := entry(ctx, 1, 1, 10)
	big.ChargeBytes = 800
	if err := s.Submit(big); !errors.Is(err, kvcache.ErrBudget) || !strings.Contains(err.Error(), "800 bytes beside them") {
		t.Fatalf("rows and a charge over the budget: err = %v, want ErrBudget naming the charge", err)
	}
	a, b := entry(ctx, 1, 2, 30), entry(ctx, 1, 2, 30) // 3 pages each
	a.ChargeBytes = 400                                // 5 pages: a and b fit without it, not with it
	for _, e := range []*Entry{a, b} {
		if err := s.Submit(e); err != nil {
			t.Fatal(err)
		}
	}
	if got := run(s); len(got) != 1 || got[0] != a {
		t.Fatalf("first step ran %d entries, want only a (b does not fit beside a's charge)", len(got))
	}
	if pool.Used() != 8*80 {
		t.Fatalf("a holds %d bytes, want 640 (3 pages of rows, 5 charged)", pool.Used())
	}
	for range 6 {
		run(s)
	}
	<-a.Done
	<-b.Done
	if pool.Used() != 0 {
		t.Fatalf("pool holds %d bytes after both finished", pool.Used())
	}

	prefix := pool.NewSequence()
	if err := prefix.Reserve(10); err != nil { // 1 page
		t.Fatal(err)
	}
	prefix.Commit(10)
	d := entry(ctx, 1, 2, 10) // 1 page
	released := 0
	c := entry(ctx, 1, 1, 20) // a fork: the shared page and 1 more
	c.Prefix, c.PrefixRows, c.Release = prefix, 10, func() { released++ }
	c.ChargeBytes = 8 * 80 // fits once d is gone: 10 - 1 (prefix) - 1 (fork) = 8
	for _, e := range []*Entry{d, c} {
		if err := s.Submit(e); err != nil {
			t.Fatal(err)
		}
	}
	if got := run(s); len(got) != 1 || got[0] != d {
		t.Fatalf("ran %d entries, want only d (c's charge does not fit beside it)", len(got))
	}
	if released != 0 || pool.Used() != 2*80 {
		t.Fatalf("after c's failed admission: prefix released %d times, pool holds %d bytes; want 0, 160 (prefix and d)", released, pool.Used())
	}
	for range 4 {
		run(s)
	}
	<-d.Done
	<-c.Done
	if released != 1 || c.Err != nil {
		t.Fatalf("c: prefix released %d times, err %v; want once, nil", released, c.Err)
	}
	prefix.Free()
	if pool.Used() != 0 {
		t.Fatalf("pool holds %d bytes at the end", pool.Used())
	}
}
