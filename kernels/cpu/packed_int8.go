package cpu

import (
	"fmt"
	"unsafe"
)

// PackedInt8 is an int8 weight matrix w [n, k] with one scale per output
// row (MatMulInt8's format: weight[j,p] = w[j,p]·scales[j]) repacked once
// at load for MatMulPackedInt8. The n output columns go in strips of 16,
// each strip holding its k inputs as quads, k quads outermost:
//
//	data  [n16][k4][16][4] int8, n16 = ⌈n/16⌉, k4 = ⌈k/4⌉
//	data[((s·k4 + q)·16 + l)·4 + e] = w[16s + l, 4q + e]   (0 past n or k)
//	comp  [n16·16] int32: comp[j] = −128·Σ_p w[j,p]          (0 past n)
//	scale [n16·16] fp32:  scale[j] = scales[j]               (0 past n)
//
// One 64-byte vector is then the quads (w[j, 4q..4q+3]) of 16 consecutive
// output columns j: a kernel broadcasts one activation quad and
// accumulates 16 int32 outputs per VPDPBUSD (u8 × s8), with no horizontal
// sums. comp undoes the activations' zero point (see MatMulPackedInt8). A
// strip is one contiguous stream; the packed matrix takes the size of w
// rounded up to 16 rows and a multiple of 4 columns, plus 8 bytes a row.
type PackedInt8 struct {
	n, k    int
	n16, k4 int
	data    []int8
	comp    []int32
	scale   []float32
}

// PackInt8 repacks w [n, k] (row-major int8, nn.Linear layout) with its
// per-row scales [n] into a PackedInt8. w and scales are only read. The
// strips are packed by SetThreads goroutines.
func PackInt8(w []int8, scales []float32, n, k int) *PackedInt8 {
	return PackInt8In(nil, w, scales, n, k)
}

// PackInt8In is PackInt8 with the packed weights in memory from a (nil:
// the Go heap).
func PackInt8In(a Allocator, w []int8, scales []float32, n, k int) *PackedInt8 {
	if n < 0 || k < 0 || len(w) < n*k || len(scales) < n {
		panic(fmt.Sprintf("cpu.PackInt8: bad shapes n=%d k=%d with len(w)=%d, len(scales)=%d", n, k, len(w), len(scales)))
	}
	p := &PackedInt8{n: n, k: k, n16: (n + 15) / 16, k4: (k + 3) / 4}
	stripLen := p.k4 * 64
	p.data = allocInt8(a, p.n16*stripLen)
	p.comp = make([]int32, p.n16*16)
	p.scale = make([]float32, p.n16*16)
	copy(p.scale, scales[:n])
	if len(p.data) > 0 && hugePages {
		adviseHugePages(unsafe.Slice((*byte)(unsafe.Pointer(&p.data[0])), len(p.data)))
	}
	parallelFor(p.n16, 1, func(s0, s1 int) {
		for s := s0; s < s1; s++ {
			strip := p.data[s*stripLen : (s+1)*stripLen] // [k4][16][4]
			for l := range min(16, n-16*s) {
				j := 16*s + l
				row := w[j*k : (j+1)*k]
				var sum int32
				for c, v := range row {
					strip[(c/4)*64+l*4+c%4] = v
					sum += int32(v)
				}
				p.comp[j] = -128 * sum
			}
		}
	})
	return p
}

// Rows is n (output features).
func (p *PackedInt8) Rows() int { return p.n }

// Cols is k, the input features.
func (p *PackedInt8) Cols() int { return p.k }

// Bytes is the size of the packed data, compensation and scales (what one
// full matmul reads).
func (p *PackedInt8) Bytes() int64 {
	return int64(len(p.data)) + 4*int64(len(p.comp)) + 4*int64(len(p.scale))
}

// Row writes row j of the weights, dequantized (w[j,p]·scales[j]), into
// dst[k] (a strided gather: for embedding lookups, not for hot loops).
func (p *PackedInt8) Row(j int, dst []float32) {
	if j < 0 || j >= p.n {
		panic(fmt.Sprintf("cpu.PackedInt8.Row: row %d of %d", j, p.n))
	}
	dst = dst[:p.k]
	base, s := (j/16)*p.k4*64+(j%16)*4, p.scale[j]
	for c := range dst {
		dst[c] = float32(p.data[base+(c/4)*64+c%4]) * s
	}
}

// MatMulPackedInt8 computes out [m, n] = x [m, k] · wᵀ for packed int8
// weights, with the activations quantized dynamically to 8 bits, one scale
// per row (the scheme of oneDNN's and llama.cpp's int8 CPU matmuls):
//
//	sx[i]   = max_p |x[i,p]| / 127
//	x̂[i,p]  = clamp(round(x[i,p] / sx[i]), −127, 127)     (round to nearest, ties to even)
//	out[i,j] = float32(Σ_p x̂[i,p]·w[j,p]) · sx[i] · scales[j]
//
// The sum is exact in int32 (|Σ| ≤ 127²·k: any k < 133,000). On AVX512_VNNI
// the kernels feed VPDPBUSD (unsigned × signed bytes) the unsigned x̂+128
// and subtract the zero point's share 128·Σ_p w[j,p], precomputed at
// packing, so every output is the same int32 and the same two fp32
// products on every path, thread count and tile: the VNNI kernels and the
// plain-Go twin (the fallback where VNNI is missing) agree bit for bit.
// A non-finite activation makes its row non-finite.
//
// Error: rounding x̂ costs ≤ sx/2 per activation, so |out − x·wᵀ| ≲
// (max|x|/254)·Σ_p|w| per output; measured at k = 2048, normal x, weights
// ~N(0, 0.02²): max error 1.1e-3 of Σ|x·w|, 3.3e-2 of rms |y|
// (TestMatMulPackedInt8Precision). Against the exact product of x̂ and w:
// 3 fp32 roundings (≤ 1.8e-7 relative).
func MatMulPackedInt8(out, x []float32, pw *PackedInt8, m int) {
	if pw == nil {
		panic("cpu.MatMulPackedInt8: nil weights")
	}
	checkMatMul("MatMulPackedInt8", len(out), len(x), pw.n*pw.k, m, pw.n, pw.k)
	if vnniActive() {
		matMulPackedInt8VNNI(out, x, pw, m)
		return
	}
	matMulPackedInt8Generic(out, x, pw, m)
}

// PreferPackedInt8 reports whether the active path has int8 kernels on
// packed weights (AVX512_VNNI, any AVX-512 path): a loader should then pack
// each int8 linear weight once with PackInt8 and call MatMulPackedInt8.
// Elsewhere MatMulInt8 (exact fp32 activations, int8 widened) is faster
// than the plain-Go MatMulPackedInt8.
func PreferPackedInt8() bool { return vnniActive() }

// matMulPackedInt8Generic is MatMulPackedInt8 in plain Go, with the bits
// of the VNNI kernels: the same quantized rows, the same int32 sums (the
// order of int32 additions does not matter, wrapping or not), the same
// fp32 scaling.
func matMulPackedInt8Generic(out, x []float32, pw *PackedInt8, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	n, k4 := pw.n, pw.k4
	qx := quantizeRows(x, m, pw.k, k4)
	defer qx.free()
	parallelFor(pw.n16, 1, func(s0, s1 int) {
		var acc [16]int32
		for s := s0; s < s1; s++ {
			strip := pw.data[s*k4*64 : (s+1)*k4*64]
			cols := min(16, n-16*s)
			for i := range m {
				xr := qx.u[i*4*k4 : (i+1)*4*k4]
				copy(acc[:], pw.comp[16*s:16*s+16])
				for q := range k4 {
					u0, u1, u2, u3 := int32(xr[4*q]), int32(xr[4*q+1]), int32(xr[4*q+2]), int32(xr[4*q+3])
					wq := strip[q*64 : q*64+64]
					for l := range acc {
						acc[l] += u0*int32(wq[4*l]) + u1*int32(wq[4*l+1]) + u2*int32(wq[4*l+2]) + u3*int32(wq[4*l+3])
					}
				}
				o, sx := out[i*n+16*s:i*n+16*s+cols], qx.scale[i]
				for l := range o {
					o[l] = float32(acc[l]) * sx * pw.scale[16*s+l]
				}
			}
		}
	})
}
