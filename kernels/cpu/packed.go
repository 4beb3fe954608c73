package cpu

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// hugePages: PackBF16 asks for transparent huge pages on the packed data
// (Linux, THP "madvise" or "always"): a forward streams every weight once,
// and 2 MiB pages cut its TLB misses.
var hugePages = true

// PackedBF16 is a bf16 weight matrix w [n, k] (nn.Linear.weight layout,
// [out_features, in_features]) repacked once at load for the active path's
// MatMulPacked. The n output columns go in strips of 16, each strip one
// contiguous stream, in one of two layouts (PackBF16 picks the active
// path's):
//
// packPairs, for VDPBF16PS (oneDNN-style): each strip holds its k inputs
// as pairs, k pairs outermost:
//
//	data [n16][k2][16][2] bf16 bits, n16 = ⌈n/16⌉, k2 = ⌈k/2⌉
//	data[((s·k2 + q)·16 + l)·2 + e] = w[16s + l, 2q + e]   (0 past n or k)
//
// One 64-byte vector is then the pairs (w[j, 2q], w[j, 2q+1]) of 16
// consecutive output columns j: a kernel broadcasts one activation pair
// (x[2q], x[2q+1]) and accumulates 16 outputs per VDPBF16PS, with no
// horizontal sums. MatMulPacked rounds the activations to bf16.
//
// packCols, for exact fp32 FMAs on 8 lanes (see packed_cols.go): each
// strip holds its 16 columns for every k, [n16][k][16], so one 32-byte
// load per k widens to two vectors of 8 columns. MatMulPacked is exact
// (fp32 activations).
//
// A tile of C strips reads C sequential streams. The packed matrix takes
// the size of w rounded up to 16 rows (and, for pairs, an even k).
type PackedBF16 struct {
	n, k    int
	n16, k2 int
	layout  packLayout
	data    []uint16
}

// packLayout is the data layout of a PackedBF16.
type packLayout uint8

const (
	packPairs packLayout = iota // [n16][k2][16][2]: VDPBF16PS, bf16 activations
	packCols                    // [n16][k][16] (column quads 0, 2, 1, 3): exact fp32
)

// PackBF16 repacks w [n, k] (raw bf16 bits, row-major) into a PackedBF16 in
// the layout of the active path (DLMSTREAM_KERNELS: see PreferPacked).
// w is only read; the caller may drop or unmap it afterwards. The strips
// are packed by SetThreads goroutines.
func PackBF16(w []uint16, n, k int) *PackedBF16 { return packBF16(nil, w, n, k, active.pack) }

// PackBF16In is PackBF16 with the packed weights in memory from a (nil:
// the Go heap).
func PackBF16In(a Allocator, w []uint16, n, k int) *PackedBF16 {
	return packBF16(a, w, n, k, active.pack)
}

// Allocator gives the memory of packed weights: a model's arena keeps them
// off the Go heap, so the collector's target follows the activations, not
// gigabytes of weights that live as long as the model. Slices it returns
// must be zeroed; they are never freed through it.
type Allocator interface {
	BF16(n int) []uint16
	Int8(n int) []int8
}

func allocBF16(a Allocator, n int) []uint16 {
	if a == nil {
		return make([]uint16, n)
	}
	return a.BF16(n)
}

func allocInt8(a Allocator, n int) []int8 {
	if a == nil {
		return make([]int8, n)
	}
	return a.Int8(n)
}

// PackBF16From is PackBF16In of the [n, k] matrix whose rows fill writes:
// fill(r0, r1, dst) puts rows [r0, r1) (raw bf16 bits, [r1-r0, k]) into
// dst. Rows come in blocks of a few thousand, so the caller never holds a
// second copy of the whole matrix (a 150k-row LM head of random weights,
// or one converted from another dtype).
func PackBF16From(a Allocator, n, k int, fill func(r0, r1 int, dst []uint16)) *PackedBF16 {
	p := newPackedBF16(a, n, k, active.pack)
	const block = 1024 // rows, a multiple of 16
	buf := make([]uint16, min(n, block)*k)
	for r0 := 0; r0 < n; r0 += block {
		r1 := min(n, r0+block)
		fill(r0, r1, buf[:(r1-r0)*k])
		p.packRows(buf, r0, r1)
	}
	return p
}

// packBF16 is PackBF16 in the given layout.
func packBF16(a Allocator, w []uint16, n, k int, layout packLayout) *PackedBF16 {
	if n < 0 || k < 0 || len(w) < n*k {
		panic(fmt.Sprintf("cpu.PackBF16: bad shapes n=%d k=%d with len(w)=%d", n, k, len(w)))
	}
	p := newPackedBF16(a, n, k, layout)
	p.packRows(w, 0, n)
	return p
}

// newPackedBF16 allocates an [n, k] PackedBF16 (zeros) in layout, from a.
func newPackedBF16(a Allocator, n, k int, layout packLayout) *PackedBF16 {
	if n < 0 || k < 0 {
		panic(fmt.Sprintf("cpu.PackBF16: bad shapes n=%d k=%d", n, k))
	}
	p := &PackedBF16{n: n, k: k, n16: (n + 15) / 16, k2: (k + 1) / 2, layout: layout}
	p.data = allocBF16(a, p.n16*p.stripLen())
	if len(p.data) > 0 && hugePages {
		adviseHugePages(unsafe.Slice((*byte)(unsafe.Pointer(&p.data[0])), 2*len(p.data)))
	}
	return p
}

// stripLen is the bf16 values of one strip of 16 output rows.
func (p *PackedBF16) stripLen() int {
	if p.layout == packCols {
		return p.k * 16
	}
	return p.k2 * 32
}

// packRows packs rows [r0, r1) of the matrix, held by w [r1-r0, k]; r0 is a
// multiple of 16. The strips are packed by SetThreads goroutines.
func (p *PackedBF16) packRows(w []uint16, r0, r1 int) {
	k, sl := p.k, p.stripLen()
	parallelFor((r1-r0+15)/16, 1, func(s0, s1 int) {
		for s := r0/16 + s0; s < r0/16+s1; s++ {
			strip := p.data[s*sl : (s+1)*sl]
			ws := w[(16*s-r0)*k:] // the strip's rows
			nr := min(16, r1-16*s)
			if p.layout == packCols {
				packColsStrip(strip, ws, nr, k, 0)
				continue
			}
			for l := range nr { // [k2][16][2]
				row := ws[l*k : (l+1)*k]
				d := strip[2*l:]
				for c := 0; c+1 < k; c += 2 {
					d[c*16], d[c*16+1] = row[c], row[c+1] // pair c/2 of column l
				}
				if k%2 == 1 {
					d[(k-1)*16] = row[k-1]
				}
			}
		}
	})
}

// Rows is n (output features), Cols is k (input features).
func (p *PackedBF16) Rows() int { return p.n }

// Cols is k, the input features.
func (p *PackedBF16) Cols() int { return p.k }

// Bytes is the size of the packed data (what one full matmul reads).
func (p *PackedBF16) Bytes() int64 { return 2 * int64(len(p.data)) }

// Row writes row j of w, widened to fp32, into dst[k] (a strided gather:
// for embedding lookups of a tied matrix, not for hot loops).
func (p *PackedBF16) Row(j int, dst []float32) {
	if j < 0 || j >= p.n {
		panic(fmt.Sprintf("cpu.PackedBF16.Row: row %d of %d", j, p.n))
	}
	dst = dst[:p.k]
	if p.layout == packCols {
		base := (j/16)*p.k*16 + colSlot(j%16)
		for c := range dst {
			dst[c] = math.Float32frombits(uint32(p.data[base+c*16]) << 16)
		}
		return
	}
	base := (j/16)*p.k2*32 + (j%16)*2
	for c := range dst {
		dst[c] = math.Float32frombits(uint32(p.data[base+(c/2)*32+c%2]) << 16)
	}
}

// MatMulPacked computes out [m, n] = x [m, k] · wᵀ for a packed w. The
// result does not depend on the thread count, on m or on the tile shapes:
// every output is one fp32 chain in k order (on AMX, TDPBF16PS's own
// order: see doc.go). Its numerics are those of the layout (PackBF16 picks
// the active path's):
//
// packCols (the avx2 path): exact, fp32 activations times the bf16 weights
// widened to fp32, one fused multiply-add per k, in k order:
//
//	acc = fma(x[i,p], w[j,p], acc)    p = 0, 1, ..., k-1
//
// Error ≲ 1e-6·Σ|x·w| (measured 1.5e-7 at k = 2048,
// TestMatMulPackedPrecision), the bound of the exact MatMulBF16 paths.
//
// packPairs (avx512bf16panel): the activations are rounded to bf16 (round
// to nearest even, as PyTorch does before its bf16 matmul) and each output
// accumulates the exact bf16 products in fp32, pair by pair in k order, as
// VDPBF16PS does:
//
//	acc += w[j,2q+1]·x̃[i,2q+1]; acc += w[j,2q]·x̃[i,2q]    (x̃ = bf16(x))
//
// Error: |out - x·wᵀ| ≲ 2⁻⁹·Σ|x·w| from rounding x (measured 1.9e-4 at k =
// 2048), and ≲ 1e-6·Σ|x̃·w| against the exact product of the rounded
// activations. The exact path there is MatMulBF16 on the unpacked weights.
func MatMulPacked(out, x []float32, pw *PackedBF16, m int) {
	if pw == nil {
		panic("cpu.MatMulPacked: nil weights")
	}
	checkMatMul("MatMulPacked", len(out), len(x), pw.n*pw.k, m, pw.n, pw.k)
	active.matMulPacked(out, x, pw, m)
}

// PreferPacked reports whether the active path runs bf16 matmuls faster on
// packed weights (avx512bf16panel, the default on AVX512_BF16 CPUs: bf16
// activations; avx2 packs exact cols weights but does not prefer them, see
// doc.go): a loader should then pack each bf16 linear weight once with
// PackBF16 and call MatMulPacked (unless it wants the exact kernels).
func PreferPacked() bool { return active.preferPacked }

var pairPool = sync.Pool{New: func() any { return new([]uint16) }}

// bf16Pairs rounds x [m, k] to bf16 into a pooled buffer laid out [m][2·k2]
// (row i's pair q is the uint32 xs[i][2q] | xs[i][2q+1]<<16, the last one
// zero-padded when k is odd). cvt converts a whole number of 16-element
// blocks (nil: bf16() only). Return the buffer with pairPool.Put(bufp).
func bf16Pairs(x []float32, m, k, k2 int, cvt func(dst []uint16, src []float32)) (xs []uint16, bufp *[]uint16) {
	bufp = pairPool.Get().(*[]uint16)
	need := m * 2 * k2
	if cap(*bufp) < need {
		*bufp = make([]uint16, need)
	}
	xs = (*bufp)[:need]
	for i := range m {
		d, s := xs[i*2*k2:(i+1)*2*k2], x[i*k:(i+1)*k]
		done := 0
		if cvt != nil {
			done = k &^ 15
			cvt(d[:done], s[:done])
		}
		F32ToBF16(d[done:k], s[done:])
		if k%2 == 1 {
			d[k] = 0
		}
	}
	return xs, bufp
}

// matMulPackedGeneric is MatMulPacked in plain Go for either layout, with
// the bits of the kernels.
func matMulPackedGeneric(out, x []float32, pw *PackedBF16, m int) {
	if pw.layout == packCols {
		matMulPackedColsGeneric(out, x, pw, m)
		return
	}
	matMulPackedPairsGeneric(out, x, pw, m)
}

// matMulPackedPairsGeneric is MatMulPacked on packPairs, with the same
// rounding as the VDPBF16PS kernels (bit-identical on CPUs whose VDPBF16PS
// adds the odd then the even product, as Intel documents; subnormal inputs
// aside, which VDPBF16PS flushes to zero).
func matMulPackedPairsGeneric(out, x []float32, pw *PackedBF16, m int) {
	if m == 0 || pw.n == 0 {
		return
	}
	n, k2 := pw.n, pw.k2
	xs, bufp := bf16Pairs(x, m, pw.k, k2, nil)
	defer pairPool.Put(bufp)
	parallelFor(pw.n16, 1, func(s0, s1 int) {
		var acc [16]float32
		for s := s0; s < s1; s++ {
			strip := pw.data[s*k2*32 : (s+1)*k2*32]
			cols := min(16, n-16*s)
			for i := range m {
				xr := xs[i*2*k2 : (i+1)*2*k2]
				acc = [16]float32{}
				for q := range k2 {
					x0 := math.Float32frombits(uint32(xr[2*q]) << 16)
					x1 := math.Float32frombits(uint32(xr[2*q+1]) << 16)
					wq := strip[q*32 : q*32+32]
					for l := range acc {
						// Two fp32 adds of exact products (float32() stops fusing).
						acc[l] += float32(math.Float32frombits(uint32(wq[2*l+1])<<16) * x1)
						acc[l] += float32(math.Float32frombits(uint32(wq[2*l])<<16) * x0)
					}
				}
				copy(out[i*n+16*s:i*n+16*s+cols], acc[:cols])
			}
		}
	})
}
