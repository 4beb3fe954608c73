package model

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// Matrix is a weight matrix [Rows, Cols], row-major, laid out as a Hugging
// Face nn.Linear weight: [out_features, in_features]. Exactly one storage
// slice is set, chosen by DType:
//
//	F32:  F32  [Rows*Cols]
//	BF16: BF16 [Rows*Cols] raw bf16 bits
//	I8:   I8   [Rows*Cols] with Scales [Rows]: w[r,c] = I8[r*Cols+c] * Scales[r]
//
// The slices may alias a read-only memory map of the checkpoint file.
// A BF16 matrix may also hold Packed, the same weights repacked for
// cpu.MatMulPacked (see Pack); MatMul then uses it. Likewise an I8 matrix
// may hold PackedInt8, for cpu.MatMulPackedInt8 (loaders pack it where the
// kernels prefer that: int8 activations, see cpu.PreferPackedInt8).
type Matrix struct {
	Rows, Cols int
	DType      tensor.DType
	F32        []float32
	BF16       []uint16
	I8         []int8
	Scales     []float32
	Packed     *cpu.PackedBF16 // optional, BF16 only: [Rows, Cols] in cpu.PackedBF16 layout
	PackedInt8 *cpu.PackedInt8 // optional, I8 only: [Rows, Cols] with Scales, in cpu.PackedInt8 layout
}

// MatMul computes out[m, Rows] = x[m, Cols] · wᵀ in fp32 on the CPU kernels
// (with bf16-rounded activations when a BF16 matrix is packed, activations
// quantized to int8 per row when an I8 matrix is: see cpu.MatMulPackedInt8;
// set PackedInt8 to nil for the exact fp32-activation int8 path).
func (w *Matrix) MatMul(out, x []float32, m int) {
	switch w.DType {
	case tensor.F32:
		cpu.MatMulF32(out, x, w.F32, m, w.Rows, w.Cols)
	case tensor.BF16:
		if w.Packed != nil {
			cpu.MatMulPacked(out, x, w.Packed, m)
			return
		}
		cpu.MatMulBF16(out, x, w.BF16, m, w.Rows, w.Cols)
	case tensor.I8:
		if w.PackedInt8 != nil {
			cpu.MatMulPackedInt8(out, x, w.PackedInt8, m)
			return
		}
		cpu.MatMulInt8(out, x, w.I8, w.Scales, m, w.Rows, w.Cols)
	default:
		panic(fmt.Sprintf("tensor: MatMul on %v matrix", w.DType))
	}
}

// Row writes row r of the matrix, widened to fp32, into dst[Cols].
func (w *Matrix) Row(r int, dst []float32) {
	off := r * w.Cols
	switch w.DType {
	case tensor.F32:
		copy(dst[:w.Cols], w.F32[off:off+w.Cols])
	case tensor.BF16:
		if w.BF16 == nil && w.Packed != nil {
			w.Packed.Row(r, dst)
			return
		}
		cpu.BF16ToF32(dst, w.BF16[off:off+w.Cols])
	case tensor.I8:
		s := w.Scales[r]
		for i, q := range w.I8[off : off+w.Cols] {
			dst[i] = float32(q) * s
		}
	default:
		panic(fmt.Sprintf("tensor: Row on %v matrix", w.DType))
	}
}

// Pack repacks a BF16 matrix for cpu.MatMulPacked in the active kernel
// path's layout (see cpu.PackBF16), and an I8 matrix for
// cpu.MatMulPackedInt8 (cpu.PackInt8), unless it is packed already; other
// dtypes are left alone. BF16 (I8 and Scales) stay set, for Row and for
// callers that slice rows. The packed weights come from a (a model's arena,
// off the Go heap; nil: the heap) and live as long as it. Call it while
// loading, before the matrix is shared between goroutines.
func (w *Matrix) Pack(a *Arena) {
	if w.DType == tensor.BF16 && w.Packed == nil && w.BF16 != nil {
		w.Packed = cpu.PackBF16In(a, w.BF16, w.Rows, w.Cols)
	}
	if w.DType == tensor.I8 && w.PackedInt8 == nil && w.I8 != nil {
		w.PackedInt8 = cpu.PackInt8In(a, w.I8, w.Scales, w.Rows, w.Cols)
	}
}

// Bytes is the size of the stored weights (what one full matmul reads).
func (w *Matrix) Bytes() int64 {
	n := int64(w.Rows) * int64(w.Cols)
	switch w.DType {
	case tensor.F32:
		return 4 * n
	case tensor.BF16:
		return 2 * n
	case tensor.I8:
		if w.PackedInt8 != nil {
			return w.PackedInt8.Bytes()
		}
		return n + 4*int64(w.Rows)
	}
	return 0
}

// ToInt8 returns the matrix quantized to int8 with one symmetric scale per row
// (scale = max|w[r,:]| / 127, q = round(w/scale)), its storage from a (nil:
// the Go heap); it is not packed (loaders call Pack where the kernels prefer
// packed int8 weights: cpu.PreferPackedInt8). The receiver is unchanged. Rows are quantized by GOMAXPROCS
// goroutines.
func (w *Matrix) ToInt8(a *Arena) *Matrix {
	q := &Matrix{Rows: w.Rows, Cols: w.Cols, DType: tensor.I8, I8: a.Int8(w.Rows * w.Cols), Scales: make([]float32, w.Rows)}
	rows := func(r0, r1 int) {
		row := make([]float32, w.Cols)
		for r := r0; r < r1; r++ {
			w.Row(r, row)
			var amax float32
			for _, v := range row {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			if amax == 0 {
				continue
			}
			s := amax / 127
			q.Scales[r] = s
			dst := q.I8[r*w.Cols : (r+1)*w.Cols]
			for i, v := range row {
				dst[i] = int8(max(-127, min(127, math.Round(float64(v/s)))))
			}
		}
	}
	var wg sync.WaitGroup
	chunk := (w.Rows + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	for r0 := 0; r0 < w.Rows; r0 += chunk {
		wg.Go(func() { rows(r0, min(r0+chunk, w.Rows)) })
	}
	wg.Wait()
	return q
}

// ToBF16 returns the matrix rounded to bf16 (round to nearest even), its
// storage from a (nil: the Go heap).
func (w *Matrix) ToBF16(a *Arena) *Matrix {
	if w.DType == tensor.BF16 {
		return w
	}
	b := &Matrix{Rows: w.Rows, Cols: w.Cols, DType: tensor.BF16, BF16: a.BF16(w.Rows * w.Cols)}
	row := make([]float32, w.Cols)
	for r := 0; r < w.Rows; r++ {
		w.Row(r, row)
		cpu.F32ToBF16(b.BF16[r*w.Cols:(r+1)*w.Cols], row)
	}
	return b
}
