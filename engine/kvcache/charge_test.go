package kvcache

import (
	"errors"
	"testing"
)

// TestCharge: a charge counts whole pages against the budget (Used, and
// FreePages for Reserve, Fork and other charges), takes no page, fails
// whole with ErrBudget, and is given back by Free; on an unlimited pool
// it is only counted.
func TestCharge(t *testing.T) {
	p := NewPoolWith(Options{Layers: 1, KVDim: 4, PageRows: 2, Budget: 32 * 10}) // 5 pages of 64 bytes
	for _, c := range []struct {
		bytes int64
		pages int
	}{{0, 0}, {-3, 0}, {1, 1}, {64, 1}, {65, 2}, {320, 5}} {
		if got := p.ChargeBytes(c.bytes); got != int64(c.pages)*64 {
			t.Errorf("ChargeBytes(%d) = %d, want %d pages", c.bytes, got, c.pages)
		}
	}
	a := p.NewSequence()
	if err := a.Reserve(3); err != nil { // 2 pages
		t.Fatal(err)
	}
	if err := a.Charge(100); err != nil { // 2 pages
		t.Fatal(err)
	}
	if p.Used() != 4*64 || p.FreePages() != 1 || a.Cap() != 4 {
		t.Fatalf("after a charge: Used %d, FreePages %d, Cap %d; want 256, 1, 4", p.Used(), p.FreePages(), a.Cap())
	}
	b := p.NewSequence()
	if err := b.Reserve(4); !errors.Is(err, ErrBudget) {
		t.Fatalf("a reservation past the charge: err = %v, want ErrBudget", err)
	}
	if err := b.Charge(65); !errors.Is(err, ErrBudget) {
		t.Fatalf("a charge past the budget: err = %v, want ErrBudget", err)
	}
	if p.FreePages() != 1 {
		t.Fatalf("a failed charge kept pages: FreePages %d, want 1", p.FreePages())
	}
	if _, err := a.Fork(2, 6); !errors.Is(err, ErrBudget) { // shares 1 page, needs 2 more
		t.Fatalf("a fork past the charge: err = %v, want ErrBudget", err)
	}
	a.Free()
	if p.Used() != 0 || p.FreePages() != 5 {
		t.Fatalf("after Free: Used %d, FreePages %d; want 0, 5", p.Used(), p.FreePages())
	}
	if err := b.Charge(64); err != nil {
		t.Fatal(err)
	}
	if err := b.Charge(64); err != nil { // charges add up
		t.Fatal(err)
	}
	if err := b.Reserve(7); !errors.Is(err, ErrBudget) {
		t.Fatalf("4 pages with 2 charged: err = %v, want ErrBudget", err)
	}
	b.Free()
	b.Free() // a second Free gives nothing back twice
	if p.FreePages() != 5 {
		t.Fatalf("after two Frees: FreePages %d, want 5", p.FreePages())
	}
	u := NewPool(1, 4, 0)
	s := u.NewSequence()
	if err := s.Charge(1 << 40); err != nil {
		t.Fatalf("unlimited pool: %v", err)
	}
	if u.Used() != u.ChargeBytes(1<<40) || u.FreePages() != -1 {
		t.Fatalf("unlimited pool: Used %d, FreePages %d", u.Used(), u.FreePages())
	}
	s.Free()
	if u.Used() != 0 {
		t.Fatalf("unlimited pool after Free: Used %d", u.Used())
	}
}
