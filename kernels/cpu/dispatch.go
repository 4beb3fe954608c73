package cpu

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// impl is one set of matmul and attention kernels. Every field is a complete
// implementation (it validates nothing and splits work across threads
// itself). Tests call the fields of generic and of the fast impl directly so
// that both paths run in one process.
type impl struct {
	name       string
	matMulF32  func(out, x, w []float32, m, n, k int)
	matMulBF16 func(out, x []float32, w []uint16, m, n, k int)
	matMulInt8 func(out, x []float32, w []int8, scales []float32, m, n, k int)
	// matMulPacked is MatMulPacked on packed weights of either layout;
	// pack is the layout PackBF16 makes on this path, preferPacked: loaders
	// should pack bf16 weights for it.
	matMulPacked func(out, x []float32, pw *PackedBF16, m int)
	pack         packLayout
	preferPacked bool
	attention    func(out, q, k, v []float32, nq, qPos0, nk, nHeads, nKV, headDim int, mask Mask)
	softmax      func(x []float32)
	siluMul      func(gate, up []float32)
}

// generic is the plain-Go path; it runs on every architecture.
var generic = impl{
	name:         "generic",
	matMulF32:    matMulF32Generic,
	matMulBF16:   matMulBF16Generic,
	matMulInt8:   matMulInt8Generic,
	matMulPacked: matMulPackedGeneric,
	attention:    attentionGeneric,
	softmax:      softmaxGeneric,
	siluMul:      siluMulGeneric,
}

// fast is the best path this CPU supports (set by the arch-specific init),
// active is what the public functions use: fast unless DLMSTREAM_KERNELS=generic.
var (
	fast   = &generic
	active = &generic
)

// EnvKernels is the environment variable that forces a path by name
// ("generic", or any other path this CPU supports, e.g. "avx512" to get exact
// fp32 bf16 matmuls on an AVX512_BF16 machine). Unknown or unsupported names
// are ignored. It is read once, at package init.
const EnvKernels = "DLMSTREAM_KERNELS"

func init() {
	fast = detect()
	active = fast
	if want := os.Getenv(EnvKernels); want != "" {
		for _, p := range available() {
			if p.name == want {
				active = p
			}
		}
	}
}

// Path names the active kernel path: "avx512", "avx2" or "generic" (or
// "avx512bf16", "avx512bf16lowp", "avx512bf16panel" when forced by
// DLMSTREAM_KERNELS).
func Path() string { return active.name }

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines a kernel call may use (n < 1 means 1).
// The default is runtime.GOMAXPROCS(0) at package init.
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	threads.Store(int32(n))
}

func numThreads() int { return int(threads.Load()) }

// ParallelRows runs fn over [0, n) split into contiguous chunks, one per
// kernel thread (SetThreads), for row-wise work outside this package.
func ParallelRows(n int, fn func(lo, hi int)) { parallelFor(n, 1, fn) }

// parallelFor splits [0, n) into at most numThreads() contiguous chunks whose
// boundaries are multiples of grain (except the end) and calls fn on each;
// the calling goroutine runs the last chunk.
func parallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	nt := numThreads()
	if maxT := (n + grain - 1) / grain; nt > maxT {
		nt = maxT
	}
	if nt <= 1 {
		fn(0, n)
		return
	}
	chunk := (n + nt - 1) / nt
	chunk = (chunk + grain - 1) / grain * grain
	var wg sync.WaitGroup
	lo := 0
	for lo+chunk < n {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, lo+chunk)
		lo += chunk
	}
	fn(lo, n)
	wg.Wait()
}
