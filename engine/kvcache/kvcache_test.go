package kvcache

import (
	"errors"
	"testing"
)

func TestReserveWriteCommit(t *testing.T) {
	p := NewPool(2, 3, 0)
	s := p.NewSequence()
	if err := s.Reserve(5); err != nil {
		t.Fatal(err)
	}
	if s.Cap() < 5 || p.Used() != int64(s.Cap())*p.RowBytes() {
		t.Fatalf("cap %d used %d", s.Cap(), p.Used())
	}
	k := []float32{1, 2, 3, 4, 5, 6}
	v := []float32{-1, -2, -3, -4, -5, -6}
	s.Write(1, 2, k, v)
	s.Commit(4)
	if err := s.Reserve(40); err != nil { // growth keeps contents
		t.Fatal(err)
	}
	gk, gv := s.Rows(1, 4)
	if gk[6] != 1 || gk[11] != 6 || gv[8] != -3 {
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
	if p.Used() != 0 {
		t.Fatalf("used after free = %d", p.Used())
	}
}

func TestBudget(t *testing.T) {
	p := NewPool(1, 4, 32*10) // 10 rows of 32 bytes
	a := p.NewSequence()
	if err := a.Reserve(8); err != nil {
		t.Fatal(err)
	}
	b := p.NewSequence()
	if err := b.Reserve(4); !errors.Is(err, ErrBudget) {
		t.Fatalf("second reservation: err = %v, want ErrBudget", err)
	}
	if err := b.Reserve(2); err != nil {
		t.Fatalf("exact fit: %v", err)
	}
	a.Free()
	if err := b.Reserve(9); err != nil {
		t.Fatalf("after free: %v", err)
	}
}

func TestFork(t *testing.T) {
	p := NewPool(2, 2, 0)
	s := p.NewSequence()
	if err := s.Reserve(4); err != nil {
		t.Fatal(err)
	}
	s.Write(0, 0, []float32{1, 2, 3, 4, 5, 6}, []float32{-1, -2, -3, -4, -5, -6})
	s.Write(1, 0, []float32{7, 8, 9, 10, 11, 12}, []float32{-7, -8, -9, -10, -11, -12})
	s.Commit(3)
	f, err := s.Fork(2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 2 || f.Cap() < 10 {
		t.Fatalf("fork: Len %d Cap %d, want 2 and >= 10", f.Len(), f.Cap())
	}
	k, v := f.Rows(1, 2)
	if k[0] != 7 || k[3] != 10 || v[3] != -10 {
		t.Fatalf("fork rows: k=%v v=%v", k, v)
	}
	f.Write(1, 0, []float32{0, 0}, []float32{0, 0}) // the fork owns its rows
	if k0, _ := s.Rows(1, 1); k0[0] != 7 {
		t.Fatalf("writing the fork changed the source: %v", k0)
	}
	if _, err := s.Fork(s.Cap()+1, 0); err == nil {
		t.Fatal("fork beyond the reserved rows: no error")
	}
	f.Free()
	s.Free()
	if p.Used() != 0 {
		t.Fatalf("used after free = %d", p.Used())
	}
}
