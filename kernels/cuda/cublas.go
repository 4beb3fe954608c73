package cuda

import (
	"fmt"
	"path/filepath"
	"sync"
	"unsafe"
)

// cublas holds libcublas's entry points.
type cublas struct {
	lib                        *library
	cublasCreate               func(h *uintptr) int32
	cublasDestroy              func(h uintptr) int32
	cublasSetStream            func(h, stream uintptr) int32
	cublasSetWorkspace         func(h, ws uintptr, bytes uint64) int32
	cublasGetStatusString      func(s int32) *byte
	cublasGemmEx               func(h uintptr, ta, tb int32, m, n, k int32, alpha unsafe.Pointer, a uintptr, at int32, lda int32, b uintptr, bt int32, ldb int32, beta unsafe.Pointer, c uintptr, ct int32, ldc int32, compute int32, algo int32) int32
	cublasGemmStridedBatchedEx func(h uintptr, ta, tb int32, m, n, k int32, alpha unsafe.Pointer, a uintptr, at int32, lda int32, sa int64, b uintptr, bt int32, ldb int32, sb int64, beta unsafe.Pointer, c uintptr, ct int32, ldc int32, sc int64, batch int32, compute int32, algo int32) int32
}

// cuBLAS and CUDA data-type enum values used here.
const (
	opN          = 0  // CUBLAS_OP_N
	opT          = 1  // CUBLAS_OP_T
	typeF32      = 0  // CUDA_R_32F
	typeBF16     = 14 // CUDA_R_16BF
	computeF32   = 68 // CUBLAS_COMPUTE_32F
	gemmDefault  = -1 // CUBLAS_GEMM_DEFAULT
	cublasMaxDim = 1<<31 - 1
)

var (
	cublasOnce sync.Once
	cublasLib  *cublas
	cublasErr  error
)

// loadCuBLAS opens libcublas.so.13 or .12 (and libcublasLt beside it first,
// so the loader finds it by soname), once.
func loadCuBLAS() (*cublas, error) {
	cublasOnce.Do(func() { cublasLib, cublasErr = openCuBLAS(searchDirs()) })
	return cublasLib, cublasErr
}

func openCuBLAS(dirs []string) (*cublas, error) {
	lib, err := openLibrary(dirs, []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(lib.path)
	base := filepath.Base(lib.path)
	_, _ = openLibrary([]string{dir}, []string{"libcublasLt" + base[len("libcublas"):]})
	b := &cublas{lib: lib}
	if err := lib.bind(map[string]any{
		"cublasCreate_v2": &b.cublasCreate, "cublasDestroy_v2": &b.cublasDestroy, "cublasSetStream_v2": &b.cublasSetStream, "cublasSetWorkspace_v2": &b.cublasSetWorkspace,
		"cublasGetStatusString": &b.cublasGetStatusString, "cublasGemmEx": &b.cublasGemmEx,
		"cublasGemmStridedBatchedEx": &b.cublasGemmStridedBatchedEx,
	}); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *cublas) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	return fmt.Errorf("cuda: %s: %s (cublasStatus %d)", call, cString(b.cublasGetStatusString(r)), r)
}

// BLAS is a cuBLAS handle bound to a context's stream.
type BLAS struct {
	c  *Context
	b  *cublas
	h  uintptr
	ws *Buffer // the handle's workspace
}

// blasWorkspace is the workspace given to cuBLAS up front, so it never
// allocates inside a stream capture (CUDA graphs); 32 MiB is what cuBLAS
// recommends for Hopper.
const blasWorkspace = 32 << 20

// NewBLAS creates a cuBLAS handle on the context's stream.
func (c *Context) NewBLAS() (*BLAS, error) {
	b, err := loadCuBLAS()
	if err != nil {
		return nil, err
	}
	bl := &BLAS{c: c, b: b}
	err = c.Do(func() error {
		if err := b.check("cublasCreate", b.cublasCreate(&bl.h)); err != nil {
			return err
		}
		if err := b.check("cublasSetStream", b.cublasSetStream(bl.h, c.stream)); err != nil {
			b.cublasDestroy(bl.h)
			return err
		}
		ws, err := c.alloc(blasWorkspace)
		if err != nil {
			b.cublasDestroy(bl.h)
			return err
		}
		bl.ws = ws
		if err := b.check("cublasSetWorkspace", b.cublasSetWorkspace(bl.h, ws.Ptr, blasWorkspace)); err != nil {
			b.cublasDestroy(bl.h)
			ws.free()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return bl, nil
}

// Close destroys the handle.
func (bl *BLAS) Close() error {
	return bl.c.Do(func() error {
		err := bl.b.check("cublasDestroy", bl.b.cublasDestroy(bl.h))
		if e := bl.ws.free(); err == nil {
			err = e
		}
		return err
	})
}

// LinearBF16 queues out[m, n] = x[m, k] · w[n, k]ᵀ (+ beta·out) with x and
// w bf16 (row-major, raw bits) and out fp32, fp32 accumulation: the
// projections and the LM head. Row-major C = X·Wᵀ is column-major
// Cᵀ[n, m] = W·Xᵀ, so W goes first, transposed.
func (q *Queue) LinearBF16(bl *BLAS, out, x, w uintptr, m, n, k int, accumulate bool) error {
	if m <= 0 || n <= 0 || k <= 0 || m > cublasMaxDim || n > cublasMaxDim || k > cublasMaxDim {
		return fmt.Errorf("cuda: LinearBF16 shape m=%d n=%d k=%d", m, n, k)
	}
	alpha, beta := float32(1), float32(0)
	if accumulate {
		beta = 1
	}
	r := bl.b.cublasGemmEx(bl.h, opT, opN, int32(n), int32(m), int32(k), unsafe.Pointer(&alpha),
		w, typeBF16, int32(k), x, typeBF16, int32(k), unsafe.Pointer(&beta), out, typeF32, int32(n), computeF32, gemmDefault)
	return bl.b.check(fmt.Sprintf("cublasGemmEx m=%d n=%d k=%d", m, n, k), r)
}

// BatchedLinearBF16 queues batch independent LinearBF16 products whose
// operands sit strideX, strideW, strideOut elements apart.
func (q *Queue) BatchedLinearBF16(bl *BLAS, out, x, w uintptr, m, n, k, batch int, strideOut, strideX, strideW int64) error {
	if m <= 0 || n <= 0 || k <= 0 || batch <= 0 {
		return fmt.Errorf("cuda: BatchedLinearBF16 shape m=%d n=%d k=%d batch=%d", m, n, k, batch)
	}
	alpha, beta := float32(1), float32(0)
	r := bl.b.cublasGemmStridedBatchedEx(bl.h, opT, opN, int32(n), int32(m), int32(k), unsafe.Pointer(&alpha),
		w, typeBF16, int32(k), strideW, x, typeBF16, int32(k), strideX, unsafe.Pointer(&beta), out, typeF32, int32(n), strideOut,
		int32(batch), computeF32, gemmDefault)
	return bl.b.check(fmt.Sprintf("cublasGemmStridedBatchedEx m=%d n=%d k=%d batch=%d", m, n, k, batch), r)
}
