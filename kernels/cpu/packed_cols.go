package cpu

import "math"

// The packCols layout of PackedBF16, for exact fp32 matmuls on 8-lane
// FMAs (the avx2 path): strips of 16 output columns, each holding its
// columns' bf16 weights for every k, k outermost:
//
//	data [n16][k][16] bf16 bits
//	data[(s·k + p)·16 + colSlot(l)] = w[16s + l, p]    (0 past n)
//
// colSlot puts the column quads in the order 0, 2, 1, 3 (columns 0-3, 8-11,
// 4-7, 12-15): VPUNPCKLWD / VPUNPCKHWD of a 32-byte step against zero,
// which widen bf16 to fp32 exactly (the bf16 bits become the high half of
// a dword) and work within 128-bit halves, then give columns 0-7 and
// 8-15 in order. A kernel widens each step once, broadcasts one fp32
// activation per row and accumulates 8 outputs per VFMADD231PS: no
// horizontal sums, no rounding of the activations.

// colSlot is where column l of a strip goes within its 16-wide step
// (swaps the middle quads; its own inverse).
func colSlot(l int) int {
	q := l >> 2
	return ((q&1)<<1|q>>1)<<2 | l&3
}

// packColsStrip writes strip s of w [n, k] into strip [k][16].
func packColsStrip(strip, w []uint16, n, k, s int) {
	for l := range min(16, n-16*s) {
		row := w[(16*s+l)*k : (16*s+l+1)*k]
		d := strip[colSlot(l):]
		for p, v := range row {
			d[p*16] = v
		}
	}
}

// fma32 returns x·w + acc rounded once to float32, the result of
// VFMADD231PS. x·w is exact in float64 (24 + 8 significant bits), so is
// their sum s = x·w + acc plus its rounding error e (TwoSum); rounding s to
// odd (s ± 1 ulp toward e when e ≠ 0 and s is even) leaves the float32
// rounding of s that of the exact sum (no double rounding).
func fma32(x, w, acc float32) float32 {
	p, a := float64(float64(x)*float64(w)), float64(acc)
	s := p + a
	if math.IsInf(s, 0) || s != s {
		return float32(s)
	}
	bb := s - p
	e := (p - (s - bb)) + (a - bb)
	if b := math.Float64bits(s); e != 0 && b&1 == 0 {
		if (e > 0) == (s > 0) {
			b++
		} else {
			b--
		}
		s = math.Float64frombits(b)
	}
	return float32(s)
}

// matMulPackedColsGeneric is MatMulPacked on packCols in plain Go: each
// output is the fp32 FMA chain of the kernels (fma32, k in order), so the
// bits are theirs.
func matMulPackedColsGeneric(out, x []float32, pw *PackedBF16, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	n, k := pw.n, pw.k
	parallelFor(pw.n16, 1, func(s0, s1 int) {
		var acc, wp [16]float32
		for s := s0; s < s1; s++ {
			strip := pw.data[s*k*16 : (s+1)*k*16]
			cols := min(16, n-16*s)
			for i := range m {
				acc = [16]float32{}
				for p, xv := range x[i*k : (i+1)*k] {
					step := strip[p*16 : p*16+16]
					for l := range wp {
						wp[l] = math.Float32frombits(uint32(step[colSlot(l)]) << 16)
					}
					for l := range acc {
						acc[l] = fma32(xv, wp[l], acc[l])
					}
				}
				copy(out[i*n+16*s:i*n+16*s+cols], acc[:cols])
			}
		}
	})
}
