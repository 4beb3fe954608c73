package model

import (
	"runtime"
	"testing"
)

// TestArena: large allocations are zeroed, writable, mapped outside the Go
// heap and unmapped by Free; small ones and a nil arena use the heap.
func TestArena(t *testing.T) {
	var a Arena
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 8 << 20
	b := a.BF16(n)
	i8 := a.Int8(n)
	f := a.F32(n)
	runtime.ReadMemStats(&after)
	for _, c := range []struct {
		name string
		len  int
		zero bool
	}{{"bf16", len(b), b[0] == 0 && b[n-1] == 0}, {"int8", len(i8), i8[0] == 0 && i8[n-1] == 0}, {"f32", len(f), f[0] == 0 && f[n-1] == 0}} {
		if c.len != n || !c.zero {
			t.Errorf("%s: len %d (want %d), zeroed %v", c.name, c.len, n, c.zero)
		}
	}
	b[n-1], i8[n-1], f[n-1] = 7, -3, 1.5
	if mapped, want := a.Mapped(), int64(n*(2+1+4)); unixMaps && mapped != want {
		t.Errorf("Mapped() = %d, want %d", mapped, want)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); unixMaps && grew > 1<<20 {
		t.Errorf("the Go heap grew by %d bytes for %d mapped", grew, n*7)
	}
	if small := a.F32(100); len(small) != 100 {
		t.Errorf("small F32: len %d", len(small))
	}
	if mapped := a.Mapped(); unixMaps && mapped != int64(n*7) {
		t.Errorf("a small allocation was mapped: %d bytes", mapped)
	}
	a.Free()
	a.Free()
	if a.Mapped() != 0 {
		t.Errorf("after Free: %d bytes mapped", a.Mapped())
	}
	var nilArena *Arena
	if v := nilArena.BF16(n); len(v) != n {
		t.Errorf("nil arena: len %d", len(v))
	}
	nilArena.Free()
}
