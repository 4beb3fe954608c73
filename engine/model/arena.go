package model

import (
	"sync"
	"unsafe"
)

// Arena holds weight memory that a model builds in memory (random weights,
// load-time conversions to bf16 or int8) outside the Go heap, as a
// checkpoint's memory map is. Weights are most of a process's memory and
// live as long as the model: on the heap they would count as live data in
// the garbage collector's target (GOGC=100 lets the heap grow to twice the
// live data between collections), so the step loop's short-lived garbage
// could grow to the size of the weights before a collection. Off the heap
// the target follows the activations alone.
//
// Allocations of at least arenaMinBytes are anonymous memory maps (Linux,
// other Unix); smaller ones, and every one where maps are unavailable, are
// ordinary Go slices. Free unmaps everything; slices from the arena must not
// be used after it. The zero Arena is ready; a nil *Arena allocates on the
// heap.
type Arena struct {
	mu   sync.Mutex
	maps [][]byte
}

// arenaMinBytes: below it a map's page rounding and system call cost more
// than the heap's bookkeeping.
const arenaMinBytes = 1 << 20

// bytes returns n zeroed bytes, mapped when large enough.
func (a *Arena) bytes(n int) []byte {
	if a == nil || n < arenaMinBytes {
		return nil
	}
	b, err := mapAnon(n)
	if err != nil {
		return nil // fall back to the heap: the weights still work
	}
	a.mu.Lock()
	a.maps = append(a.maps, b)
	a.mu.Unlock()
	return b
}

// BF16 returns n zeroed bf16 values (raw bits).
func (a *Arena) BF16(n int) []uint16 {
	if b := a.bytes(2 * n); b != nil {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
	}
	return make([]uint16, n)
}

// Int8 returns n zeroed int8 values.
func (a *Arena) Int8(n int) []int8 {
	if b := a.bytes(n); b != nil {
		return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), n)
	}
	return make([]int8, n)
}

// F32 returns n zeroed float32 values.
func (a *Arena) F32(n int) []float32 {
	if b := a.bytes(4 * n); b != nil {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	return make([]float32, n)
}

// Mapped reports the bytes held in memory maps.
func (a *Arena) Mapped() int64 {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var n int64
	for _, b := range a.maps {
		n += int64(len(b))
	}
	return n
}

// Free unmaps the arena's memory (heap allocations are left to the garbage
// collector). Safe to call more than once.
func (a *Arena) Free() {
	if a == nil {
		return
	}
	a.mu.Lock()
	maps := a.maps
	a.maps = nil
	a.mu.Unlock()
	for _, b := range maps {
		unmapAnon(b)
	}
}
