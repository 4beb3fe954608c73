package cuda

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Buffer is device memory owned by a Context.
type Buffer struct {
	Ptr   uintptr // CUdeviceptr
	Bytes int64
	c     *Context
}

// Alloc reserves bytes of device memory (uninitialised), within the
// context's limit.
func (c *Context) Alloc(bytes int64) (*Buffer, error) {
	var b *Buffer
	err := c.Do(func() (err error) { b, err = c.alloc(bytes); return err })
	return b, err
}

func (c *Context) alloc(bytes int64) (*Buffer, error) {
	if bytes <= 0 {
		return nil, fmt.Errorf("cuda: alloc of %d bytes", bytes)
	}
	if c.limit > 0 && c.held+bytes > c.limit {
		return nil, fmt.Errorf("cuda: alloc of %d bytes over the context's limit (%d of %d held)", bytes, c.held, c.limit)
	}
	var p uintptr
	if err := c.d.check(fmt.Sprintf("cuMemAlloc(%d bytes)", bytes), c.d.cuMemAlloc(&p, uint64(bytes))); err != nil {
		return nil, err
	}
	c.held += bytes
	return &Buffer{Ptr: p, Bytes: bytes, c: c}, nil
}

// Free returns the memory to the device; a nil or freed buffer is a no-op.
func (b *Buffer) Free() error {
	if b == nil || b.Ptr == 0 {
		return nil
	}
	return b.c.Do(func() error { return b.free() })
}

func (b *Buffer) free() error {
	if b.Ptr == 0 {
		return nil
	}
	err := b.c.d.check("cuMemFree", b.c.d.cuMemFree(b.Ptr))
	b.c.held -= b.Bytes
	b.Ptr = 0
	return err
}

// Upload allocates a buffer holding a copy of s.
func Upload[T any](c *Context, s []T) (*Buffer, error) {
	n := int64(len(s)) * int64(unsafe.Sizeof(*new(T)))
	var b *Buffer
	err := c.Do(func() (err error) {
		if b, err = c.alloc(max(n, 1)); err != nil {
			return err
		}
		if err = c.copyIn(b.Ptr, hostPtr(s), n); err == nil {
			err = c.sync()
		}
		runtime.KeepAlive(s)
		if err != nil {
			b.free()
		}
		return err
	})
	return b, err
}

// Write copies s to the buffer at byte offset off and waits for it.
func Write[T any](b *Buffer, off int64, s []T) error {
	n := int64(len(s)) * int64(unsafe.Sizeof(*new(T)))
	if off < 0 || off+n > b.Bytes {
		return fmt.Errorf("cuda: write of %d bytes at %d into a %d-byte buffer", n, off, b.Bytes)
	}
	return b.c.Do(func() error {
		err := b.c.copyIn(b.Ptr+uintptr(off), hostPtr(s), n)
		if err == nil {
			err = b.c.sync()
		}
		runtime.KeepAlive(s)
		return err
	})
}

// Read copies the buffer's bytes from off into s, after the work queued
// before it.
func Read[T any](b *Buffer, off int64, s []T) error {
	n := int64(len(s)) * int64(unsafe.Sizeof(*new(T)))
	if off < 0 || off+n > b.Bytes {
		return fmt.Errorf("cuda: read of %d bytes at %d from a %d-byte buffer", n, off, b.Bytes)
	}
	return b.c.Do(func() error {
		err := b.c.copyOut(hostPtr(s), b.Ptr+uintptr(off), n)
		if err == nil {
			err = b.c.sync()
		}
		runtime.KeepAlive(s)
		return err
	})
}

// Copy queues a device-to-device copy of n bytes.
func (c *Context) Copy(dst, src uintptr, n int64) error {
	return c.Do(func() error { return c.copyDD(dst, src, n) })
}

// Zero queues setting n bytes at p to zero.
func (c *Context) Zero(p uintptr, n int64) error {
	return c.Do(func() error { return c.d.check("cuMemsetD8", c.d.cuMemsetD8Async(p, 0, uint64(n), c.stream)) })
}

func (c *Context) copyIn(dst uintptr, src unsafe.Pointer, n int64) error {
	if n == 0 {
		return nil
	}
	return c.d.check("cuMemcpyHtoD", c.d.cuMemcpyHtoDAsync(dst, src, uint64(n), c.stream))
}

func (c *Context) copyOut(dst unsafe.Pointer, src uintptr, n int64) error {
	if n == 0 {
		return nil
	}
	return c.d.check("cuMemcpyDtoH", c.d.cuMemcpyDtoHAsync(dst, src, uint64(n), c.stream))
}

func (c *Context) copyDD(dst, src uintptr, n int64) error {
	if n == 0 {
		return nil
	}
	return c.d.check("cuMemcpyDtoD", c.d.cuMemcpyDtoDAsync(dst, src, uint64(n), c.stream))
}
