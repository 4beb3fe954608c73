//go:build amd64

package cpu

import (
	"math"
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run gen_amd64.go gen_avx2_amd64.go

// Micro-kernels from matmul_amd64.s (see gen_amd64.go). Each computes a tile
// of R rows of x (R = 1..4, the name's first digit) times 4 weight rows over
// nblk blocks of k, writing tile[r*4+c] for r < R, c < 4.

//go:noescape
func dpbf161x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf162x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf163x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf164x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func bf161x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func bf162x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func bf163x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func bf164x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func f321x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func f322x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func f323x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func f324x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func i81x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func i82x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func i83x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func i84x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func bf16avx21x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func bf16avx22x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func f32avx21x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func f32avx22x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func i8avx21x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func i8avx22x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf16hi1x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf16hi2x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf16hi3x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

//go:noescape
func dpbf16hi4x4(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

type tileKernel func(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)

// kernelSet is one ISA's micro-kernels for one weight format.
type kernelSet struct {
	kern [4]tileKernel // kern[R-1] handles R rows of x, R <= rows
	rows int           // largest R
	blk  int           // k elements per kernel block
}

var (
	dpbf16AVX512   = kernelSet{[4]tileKernel{dpbf161x4, dpbf162x4, dpbf163x4, dpbf164x4}, 4, 32}
	dpbf16hiAVX512 = kernelSet{[4]tileKernel{dpbf16hi1x4, dpbf16hi2x4, dpbf16hi3x4, dpbf16hi4x4}, 4, 32}
	bf16AVX512     = kernelSet{[4]tileKernel{bf161x4, bf162x4, bf163x4, bf164x4}, 4, 16}
	f32AVX512      = kernelSet{[4]tileKernel{f321x4, f322x4, f323x4, f324x4}, 4, 16}
	i8AVX512       = kernelSet{[4]tileKernel{i81x4, i82x4, i83x4, i84x4}, 4, 16}
	bf16AVX2       = kernelSet{[4]tileKernel{bf16avx21x4, bf16avx22x4}, 2, 8}
	f32AVX2        = kernelSet{[4]tileKernel{f32avx21x4, f32avx22x4}, 2, 8}
	i8AVX2         = kernelSet{[4]tileKernel{i8avx21x4, i8avx22x4}, 2, 8}
)

var (
	// avx512 widens bf16/int8 weights exactly to fp32 and uses VFMADD231PS.
	avx512 = impl{
		name:         "avx512",
		matMulF32:    matMulF32Tiled(&f32AVX512),
		matMulBF16:   matMulBF16Tiled(&bf16AVX512),
		matMulInt8:   matMulInt8Tiled(&i8AVX512),
		matMulPacked: packedAMD64(),
		attention:    attentionAVX512,
		softmax:      softmaxAVX512,
		siluMul:      siluMulAVX512,
	}
	// avx512bf16 is avx512 with MatMulBF16 on VDPBF16PS and split activations.
	avx512bf16 = impl{
		name:         "avx512bf16",
		matMulF32:    matMulF32Tiled(&f32AVX512),
		matMulBF16:   matMulBF16DP,
		matMulInt8:   matMulInt8Tiled(&i8AVX512),
		matMulPacked: packedAMD64(),
		attention:    attentionAVX512,
		softmax:      softmaxAVX512,
		siluMul:      siluMulAVX512,
	}
	// avx512bf16lowp rounds the activations to bf16 (one VDPBF16PS per
	// block): half the compute of avx512bf16, so 4-8-row matmuls stay
	// memory-bound, at ~2⁻⁹ relative error per activation. Opt-in only
	// (DLMSTREAM_KERNELS=avx512bf16lowp); it is what PyTorch's bf16 does.
	avx512bf16lowp = impl{
		name:         "avx512bf16lowp",
		matMulF32:    matMulF32Tiled(&f32AVX512),
		matMulBF16:   matMulBF16DPHi,
		matMulInt8:   matMulInt8Tiled(&i8AVX512),
		matMulPacked: packedAMD64(),
		attention:    attentionAVX512,
		softmax:      softmaxAVX512,
		siluMul:      siluMulAVX512,
	}
	// avx512bf16panel is avx512 whose loaders pack bf16 weights once
	// (PackBF16: strips of 16 columns × k pairs) for MatMulPacked: bf16
	// activations broadcast pair by pair, VDPBF16PS into 16-column
	// accumulators, as oneDNN does (PyTorch's bf16 numerics). Unpacked
	// MatMulBF16 stays exact (widened FMA). The default on AVX512_BF16 CPUs.
	avx512bf16panel = impl{
		name:         "avx512bf16panel",
		matMulF32:    matMulF32Tiled(&f32AVX512),
		matMulBF16:   matMulBF16Tiled(&bf16AVX512),
		matMulInt8:   matMulInt8Tiled(&i8AVX512),
		matMulPacked: packedAMD64(),
		preferPacked: true,
		attention:    attentionAVX512,
		softmax:      softmaxAVX512,
		siluMul:      siluMulAVX512,
	}
	// avx2 is the same scheme on 8-lane AVX2 + FMA kernels (2 rows of x per
	// tile) for CPUs without AVX-512; attention (q·k tiles, P·V kernels),
	// softmax and SiLU on 8 lanes too.
	avx2 = impl{
		name:         "avx2",
		matMulF32:    matMulF32Tiled(&f32AVX2),
		matMulBF16:   matMulBF16Tiled(&bf16AVX2),
		matMulInt8:   matMulInt8Tiled(&i8AVX2),
		matMulPacked: packedAMD64(),
		pack:         packCols,
		attention:    attentionAVX2,
		softmax:      softmaxAVX2,
		siluMul:      siluMulAVX2,
	}
)

var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// available lists every path this CPU can run, generic first.
func available() []*impl {
	l := []*impl{&generic}
	if hasAVX2 {
		l = append(l, &avx2)
	}
	if hasAVX512 {
		l = append(l, &avx512)
	}
	if hasAVX512 && cpu.X86.HasAVX512BF16 {
		l = append(l, &avx512bf16, &avx512bf16lowp, &avx512bf16panel)
	}
	return l
}

// packedAMD64 is MatMulPacked for the amd64 paths: packCols weights on the
// exact AVX2 kernels, packPairs weights on the VDPBF16PS kernels where the
// CPU has them, plain Go otherwise.
func packedAMD64() func(out, x []float32, pw *PackedBF16, m int) {
	return func(out, x []float32, pw *PackedBF16, m int) {
		switch {
		case pw.layout == packCols && hasAVX2:
			matMulPackedAVX2(out, x, pw, m)
		case pw.layout == packPairs && useAMX(m, pw):
			matMulPackedAMX(out, x, pw, m) // amx_amd64.go
		case pw.layout == packPairs && hasAVX512BF16:
			matMulPackedAVX512(out, x, pw, m)
		default:
			matMulPackedGeneric(out, x, pw, m)
		}
	}
}

// detect picks the default path. avx512bf16panel (bf16 weights packed at
// load, activations rounded to bf16, VDPBF16PS: PyTorch's bf16 numerics)
// is 1.6-2.2x faster than avx512 on SDAR-1.7B layers, so it is the default
// where the CPU has AVX512_BF16; model.LoadOptions.Exact keeps a model on
// the exact widened-fp32 kernels (the transformers goldens pin that path).
// avx512 (bf16 widened exactly to fp32, VFMADD231PS) is preferred over
// avx512bf16: the split-activation VDPBF16PS path is no faster and ten times
// less precise (see doc.go), so it is opt-in via DLMSTREAM_KERNELS like
// avx512bf16lowp.
func detect() *impl {
	switch {
	case hasAVX512 && cpu.X86.HasAVX512BF16:
		return &avx512bf16panel
	case hasAVX512:
		return &avx512
	case hasAVX2:
		return &avx2
	}
	return &generic
}

// tiled describes one matmul for runTiles.
type tiled struct {
	m, n    int
	ks      *kernelSet                 // micro-kernels
	w       unsafe.Pointer             // weight row 0
	ldw     int                        // bytes between weight rows
	x       unsafe.Pointer             // activation row 0 (as the kernel reads it)
	ldx     int                        // bytes between activation rows
	nblk    int                        // k blocks the kernel covers
	dot     func(i, j, p0 int) float32 // Σ_{p >= p0} x[i,p]·w[j,p] in fp32
	p0      int                        // first k index the kernel does not cover
	hasTail bool                       // p0 < k
	scale   []float32                  // optional per-column scale: [n]
	ldo     int                        // floats between out rows; 0: n
}

// panelBytes is the weight panel kept hot in cache while every row block of
// x passes over it. Measured on the 2-core EPYC (k = 2048, m = 4..32), 16 KiB
// (one 4-row column block: every row block reuses it from L1) beat 64 KiB
// and 256 KiB panels by ~5-10% at m = 8 and tied elsewhere.
var panelBytes = 16 << 10

// run computes out [m,n] over column chunks split across threads. Within a
// chunk, columns go in panels of P weight rows (≈ panelBytes); for each panel
// every block of ≤4 x rows (hot in L1) sweeps the panel's 4-column blocks, so
// weights come from DRAM once and activations from L1. A ragged last column
// block is shifted left to end at the chunk's end (recomputing a few
// columns, writing only new ones). Chunks narrower than 4 use t.dot.
func (t *tiled) run(out []float32) {
	parallelFor(t.n, 16, func(j0, j1 int) { t.cols(out, j0, j1) })
}

// cols computes columns [j0, j1) of out [m, n] on the calling goroutine.
func (t *tiled) cols(out []float32, j0, j1 int) {
	P := max(4, panelBytes/t.ldw&^3)
	ldo := t.n
	if t.ldo > 0 {
		ldo = t.ldo
	}
	{
		var tile [16]float32
		if j1-j0 < 4 {
			for j := j0; j < j1; j++ {
				for i := 0; i < t.m; i++ {
					out[i*ldo+j] = t.finish(t.dot(i, j, 0), j)
				}
			}
			return
		}
		for pb := j0; pb < j1; pb += P {
			pe := min(pb+P, j1)
			for i := 0; i < t.m; i += t.ks.rows {
				r := min(t.ks.rows, t.m-i)
				xp := unsafe.Add(t.x, i*t.ldx)
				for jb := pb; jb < pe; jb += 4 {
					j := min(jb, j1-4) // columns j..j+3; write only jb..j+3
					t.ks.kern[r-1](&tile[0], unsafe.Add(t.w, j*t.ldw), t.ldw, xp, t.ldx, t.nblk)
					for rr := range r {
						o := out[(i+rr)*ldo:]
						for c := jb - j; c < 4; c++ {
							v := tile[rr*4+c]
							if t.hasTail {
								v += t.dot(i+rr, j+c, t.p0)
							}
							o[j+c] = t.finish(v, j+c)
						}
					}
				}
			}
		}
	}
}

func (t *tiled) finish(v float32, j int) float32 {
	if t.scale != nil {
		return v * t.scale[j]
	}
	return v
}

// matMulF32Tiled returns out [m,n] = x [m,k] · w [n,k]ᵀ on the fp32 kernels ks.
func matMulF32Tiled(ks *kernelSet) func(out, x, w []float32, m, n, k int) {
	return func(out, x, w []float32, m, n, k int) {
		if m == 0 || n == 0 || k < ks.blk {
			matMulF32Generic(out, x, w, m, n, k)
			return
		}
		t := tiled{m: m, n: n, ks: ks,
			w: unsafe.Pointer(&w[0]), ldw: 4 * k, x: unsafe.Pointer(&x[0]), ldx: 4 * k,
			nblk: k / ks.blk, p0: k / ks.blk * ks.blk, hasTail: k%ks.blk != 0,
			dot: func(i, j, p0 int) float32 { return dotF32(x[i*k+p0:i*k+k], w[j*k+p0:j*k+k]) },
		}
		t.run(out)
	}
}

// matMulInt8Tiled returns out[i,j] = scales[j]·Σ x[i,p]·w[j,p] on the int8
// kernels ks (int8 widened exactly: VPMOVSXBD + VCVTDQ2PS).
func matMulInt8Tiled(ks *kernelSet) func(out, x []float32, w []int8, scales []float32, m, n, k int) {
	return func(out, x []float32, w []int8, scales []float32, m, n, k int) {
		if m == 0 || n == 0 || k < ks.blk {
			matMulInt8Generic(out, x, w, scales, m, n, k)
			return
		}
		t := tiled{m: m, n: n, ks: ks,
			w: unsafe.Pointer(&w[0]), ldw: k, x: unsafe.Pointer(&x[0]), ldx: 4 * k,
			nblk: k / ks.blk, p0: k / ks.blk * ks.blk, hasTail: k%ks.blk != 0, scale: scales,
			dot: func(i, j, p0 int) float32 {
				var s float32
				for p := p0; p < k; p++ {
					s += x[i*k+p] * float32(w[j*k+p])
				}
				return s
			},
		}
		t.run(out)
	}
}

// dotBF16 returns Σ_{p >= p0} x[p]·bf16(w[p]) in fp32 (x, w: one row of [k]).
func dotBF16(x []float32, w []uint16, p0 int) float32 {
	var s float32
	for p := p0; p < len(x); p++ {
		s += x[p] * math.Float32frombits(uint32(w[p])<<16)
	}
	return s
}

// matMulBF16Tiled returns the bf16 matmul on kernels ks that widen bf16
// weights exactly to fp32 (VPMOVZXWD, VPSLLD 16) and use VFMADD231PS.
func matMulBF16Tiled(ks *kernelSet) func(out, x []float32, w []uint16, m, n, k int) {
	return func(out, x []float32, w []uint16, m, n, k int) {
		if m == 0 || n == 0 || k < ks.blk {
			matMulBF16Generic(out, x, w, m, n, k)
			return
		}
		t := tiled{m: m, n: n, ks: ks,
			w: unsafe.Pointer(&w[0]), ldw: 2 * k, x: unsafe.Pointer(&x[0]), ldx: 4 * k,
			nblk: k / ks.blk, p0: k / ks.blk * ks.blk, hasTail: k%ks.blk != 0,
			dot: func(i, j, p0 int) float32 { return dotBF16(x[i*k:i*k+k], w[j*k:j*k+k], p0) },
		}
		t.run(out)
	}
}

var splitPool = sync.Pool{New: func() any { return new([]uint16) }}

// matMulBF16DP: bf16 weights with VDPBF16PS. Each activation is split into
// two bf16 numbers hi = bf16(x), lo = bf16(x-hi) (x ≈ hi+lo to ~2⁻¹⁷
// relative) and the kernel accumulates w·hi + w·lo in fp32, 32 k per block.
// The split rows are laid out [m][nblk][hi 32 | lo 32]. The k%32 tail is
// done in Go with the unsplit fp32 x.
func matMulBF16DP(out, x []float32, w []uint16, m, n, k int) {
	if m == 0 || n == 0 || k < 32 {
		matMulBF16Generic(out, x, w, m, n, k)
		return
	}
	nblk := k / 32
	bufp := splitPool.Get().(*[]uint16)
	defer splitPool.Put(bufp)
	need := m * nblk * 64
	if cap(*bufp) < need {
		*bufp = make([]uint16, need)
	}
	xs := (*bufp)[:need] // [m][nblk][64]
	for i := range m {
		xr := x[i*k : i*k+nblk*32]
		for b := range nblk {
			d := xs[(i*nblk+b)*64 : (i*nblk+b+1)*64]
			for t, v := range xr[b*32 : b*32+32] {
				hi := bf16(v)
				d[t] = hi
				d[32+t] = bf16(v - math.Float32frombits(uint32(hi)<<16))
			}
		}
	}
	t := tiled{m: m, n: n, ks: &dpbf16AVX512,
		w: unsafe.Pointer(&w[0]), ldw: 2 * k, x: unsafe.Pointer(&xs[0]), ldx: nblk * 128,
		nblk: nblk, p0: nblk * 32, hasTail: k%32 != 0,
		dot: func(i, j, p0 int) float32 { return dotBF16(x[i*k:i*k+k], w[j*k:j*k+k], p0) },
	}
	t.run(out)
}

// matMulBF16DPHi: VDPBF16PS with the activations rounded to bf16 (round to
// nearest even), laid out [m][nblk][32]; the k%32 tail uses fp32 x in Go.
func matMulBF16DPHi(out, x []float32, w []uint16, m, n, k int) {
	if m == 0 || n == 0 || k < 32 {
		matMulBF16Generic(out, x, w, m, n, k)
		return
	}
	nblk := k / 32
	bufp := splitPool.Get().(*[]uint16)
	defer splitPool.Put(bufp)
	need := m * nblk * 32
	if cap(*bufp) < need {
		*bufp = make([]uint16, need)
	}
	xs := (*bufp)[:need] // [m][nblk*32]
	for i := range m {
		F32ToBF16(xs[i*nblk*32:(i+1)*nblk*32], x[i*k:i*k+nblk*32])
	}
	t := tiled{m: m, n: n, ks: &dpbf16hiAVX512,
		w: unsafe.Pointer(&w[0]), ldw: 2 * k, x: unsafe.Pointer(&xs[0]), ldx: nblk * 64,
		nblk: nblk, p0: nblk * 32, hasTail: k%32 != 0,
		dot: func(i, j, p0 int) float32 { return dotBF16(x[i*k:i*k+k], w[j*k:j*k+k], p0) },
	}
	t.run(out)
}
