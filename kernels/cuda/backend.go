package cuda

import "fmt"

// Backend is one device ready to run the decoder: its context, the
// embedded kernels compiled for it, and a cuBLAS handle on its stream.
type Backend struct {
	C    *Context
	K    *Kernels
	BLAS *BLAS
}

// NewBackend opens device ordinal, compiles (or reads from the PTX cache)
// and loads the kernels, and creates the cuBLAS handle. The error says in
// one line what is missing (driver, device, NVRTC, cuBLAS) or failed.
func NewBackend(ordinal int) (*Backend, error) {
	c, err := Open(ordinal)
	if err != nil {
		return nil, err
	}
	k, err := c.LoadKernels(DefaultPTXCache())
	if err != nil {
		c.Close()
		return nil, err
	}
	bl, err := c.NewBLAS()
	if err != nil {
		k.Unload()
		c.Close()
		return nil, err
	}
	return &Backend{C: c, K: k, BLAS: bl}, nil
}

// Close frees the handle, the kernels and the context.
func (b *Backend) Close() error {
	err := b.BLAS.Close()
	b.K.Unload()
	if e := b.C.Close(); err == nil {
		err = e
	}
	return err
}

func (b *Backend) String() string { return fmt.Sprint(b.C.Device) }

// Launch shapes shared by the launchers.
const (
	threads1D   = 256
	normThreads = 256 // power of two for the shared-memory reductions
	statThreads = 256
	attnRows    = 4 // query rows per attention block: one warp each
)

func blocks(n int64, per int) int { return int((n + int64(per) - 1) / int64(per)) }
