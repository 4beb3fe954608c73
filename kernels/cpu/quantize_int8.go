package cpu

import (
	"math"
	"sync"
)

// quantRows is x [m, k] quantized for MatMulPackedInt8: u [m][4·k4] holds
// x̂+128 as unsigned bytes (VPDPBUSD's unsigned operand; the k%4 padding
// is 128, i.e. x̂ = 0), scale [m] the row scales sx.
type quantRows struct {
	u     []uint8
	scale []float32
	buf   *quantBuf
}

type quantBuf struct {
	u     []uint8
	scale []float32
}

var quantPool = sync.Pool{New: func() any { return new(quantBuf) }}

// quantParallelRows: from this many rows up, quantizeRows splits the rows
// across SetThreads goroutines.
const quantParallelRows = 8

// quantizeRows quantizes x [m, k] row by row (see MatMulPackedInt8) into
// pooled buffers; release them with free.
func quantizeRows(x []float32, m, k, k4 int) quantRows {
	b := quantPool.Get().(*quantBuf)
	if cap(b.u) < m*4*k4 {
		b.u = make([]uint8, m*4*k4)
	}
	if cap(b.scale) < m {
		b.scale = make([]float32, m)
	}
	q := quantRows{u: b.u[:m*4*k4], scale: b.scale[:m], buf: b}
	rows := func(i0, i1 int) {
		for i := i0; i < i1; i++ {
			d := q.u[i*4*k4 : (i+1)*4*k4]
			q.scale[i] = quantizeRow(d[:k], x[i*k:(i+1)*k])
			for p := k; p < len(d); p++ {
				d[p] = 128
			}
		}
	}
	if m >= quantParallelRows {
		parallelFor(m, 1, rows)
	} else {
		rows(0, m)
	}
	return q
}

func (q quantRows) free() { quantPool.Put(q.buf) }

// roundMagic is 1.5·2²³: adding it to a float32 v with |v| < 2²² leaves
// round(v) (to nearest, ties to even, as the FPU rounds the sum) in the
// low mantissa bits: bits(v + roundMagic) − roundMagicBits = round(v).
const (
	roundMagic     = 12582912
	roundMagicBits = 0x4b400000
)

// quantizeRow writes dst[p] = clamp(round(x[p]/s), −127, 127) + 128 for
// s = max|x|/127 and returns s (0 for a zero row, whose dst is all 128).
// The division is a multiplication by 127/max|x| (in float64 for rows
// below 2⁻⁹⁶, whose reciprocal would overflow fp32). max|x| compares the
// magnitudes' bits as integers (the order of non-negative floats; a NaN
// wins, making s NaN).
func quantizeRow(dst []uint8, x []float32) float32 {
	dst = dst[:len(x)]
	var abits uint32
	for _, v := range x {
		abits = max(abits, math.Float32bits(v)&^(1<<31))
	}
	amax := math.Float32frombits(abits)
	switch {
	case amax == 0:
		for p := range dst {
			dst[p] = 128
		}
		return 0
	case amax < 0x1p-96:
		inv := 127 / float64(amax)
		for p, v := range x {
			dst[p] = uint8(max(-127, min(127, int32(math.RoundToEven(float64(v)*inv)))) + 128)
		}
		return amax / 127
	}
	inv := 127 / amax
	for p, v := range x {
		r := float32(v * inv) // the conversion stops a fused multiply-add
		q := int32(math.Float32bits(r+roundMagic)) - roundMagicBits
		dst[p] = uint8(max(-127, min(127, q)) + 128)
	}
	return amax / 127
}
