package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// TestToInt8Packed: ToInt8 does not pack; once packed, MatMul runs
// cpu.MatMulPackedInt8 (activations quantized per row), and with
// PackedInt8 cleared it runs the exact cpu.MatMulInt8; Row and the stored
// I8 are the same either way.
func TestToInt8Packed(t *testing.T) {
	const rows, cols, m = 37, 70, 3
	rng := rand.New(rand.NewPCG(1, 2))
	f := &Matrix{Rows: rows, Cols: cols, DType: tensor.F32, F32: make([]float32, rows*cols)}
	for i := range f.F32 {
		f.F32[i] = float32(rng.NormFloat64() * 0.02)
	}
	x := make([]float32, m*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	q := f.ToInt8(nil)
	if q.PackedInt8 != nil {
		t.Fatal("ToInt8 packed the matrix")
	}
	q.Pack(nil)
	want := make([]float32, m*rows)
	cpu.MatMulPackedInt8(want, x, cpu.PackInt8(q.I8, q.Scales, rows, cols), m)
	got := make([]float32, m*rows)
	q.MatMul(got, x, m)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("packed MatMul out[%d] = %v, cpu.MatMulPackedInt8 %v", i, got[i], want[i])
		}
	}
	r, rp := make([]float32, cols), make([]float32, cols)
	q.Row(5, r)
	q.PackedInt8.Row(5, rp)
	for c := range r {
		if r[c] != rp[c] {
			t.Fatalf("Row(5)[%d] = %v, packed %v", c, r[c], rp[c])
		}
	}
	q.PackedInt8 = nil
	cpu.MatMulInt8(want, x, q.I8, q.Scales, m, rows, cols)
	q.MatMul(got, x, m)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("unpacked MatMul out[%d] = %v, cpu.MatMulInt8 %v", i, got[i], want[i])
		}
	}
}
