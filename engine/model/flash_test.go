package model

import "testing"

// TestFlashBytes: a cache sized for a whole block holds exactly
// FlashBytes, a part of it less, and Drop frees it.
func TestFlashBytes(t *testing.T) {
	const layers, block, heads, dim = 3, 8, 4, 16
	want := FlashBytes(layers, block, heads, dim)
	if want != 4*3*8*4*17 {
		t.Fatalf("FlashBytes = %d, want %d", want, 4*3*8*4*17)
	}
	var f FlashState
	f.Reset(2, block-2, layers, heads, dim)
	if b := f.Bytes(); b >= want || b != FlashBytes(layers, block-2, heads, dim) {
		t.Errorf("rows [2, %d): Bytes %d, want %d", block, b, FlashBytes(layers, block-2, heads, dim))
	}
	f.Reset(0, block, layers, heads, dim)
	if b := f.Bytes(); b != want {
		t.Errorf("a whole block: Bytes %d, want FlashBytes %d", b, want)
	}
	f.Drop()
	if b := f.Bytes(); b != 0 {
		t.Errorf("after Drop: Bytes %d", b)
	}
}
