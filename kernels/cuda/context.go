package cuda

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Context is one device's primary context with a stream that every call
// of this package queues work on, in order. Driver calls need the context
// current on the calling OS thread, so each method locks its goroutine to
// the thread for the call's length; a mutex serialises callers.
type Context struct {
	Device Device
	d      *driver
	dev    int32
	ctx    uintptr
	stream uintptr

	mu    sync.Mutex
	held  int64 // device bytes allocated through this context
	limit int64 // 0 = no limit beyond the device's
}

// Open retains the primary context of device ordinal and creates its stream.
func Open(ordinal int) (*Context, error) {
	devs, err := Devices()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= len(devs) {
		return nil, fmt.Errorf("cuda: device %d does not exist (%d devices)", ordinal, len(devs))
	}
	d, _ := loadDriver()
	c := &Context{Device: devs[ordinal], d: d}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := d.check("cuDeviceGet", d.cuDeviceGet(&c.dev, int32(ordinal))); err != nil {
		return nil, err
	}
	if err := d.check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&c.ctx, c.dev)); err != nil {
		return nil, err
	}
	if err := d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(c.ctx)); err != nil {
		d.cuDevicePrimaryCtxRelease(c.dev)
		return nil, err
	}
	const nonBlocking = 1 // CU_STREAM_NON_BLOCKING
	if err := d.check("cuStreamCreate", d.cuStreamCreate(&c.stream, nonBlocking)); err != nil {
		d.cuDevicePrimaryCtxRelease(c.dev)
		return nil, err
	}
	return c, nil
}

// Do runs f with the context current on a locked OS thread, serialised
// with every other call on c. Methods of c must not be called inside f
// (they take the same lock); f calls the driver through the *Context
// methods' unlocked forms, which the package's own types use.
func (c *Context) Do(f func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := c.d.check("cuCtxSetCurrent", c.d.cuCtxSetCurrent(c.ctx)); err != nil {
		return err
	}
	return f()
}

// Sync waits for the stream's queued work and reports its first error.
func (c *Context) Sync() error {
	return c.Do(func() error { return c.sync() })
}

func (c *Context) sync() error {
	return c.d.check("cuStreamSynchronize", c.d.cuStreamSynchronize(c.stream))
}

// MemInfo reports the device's free and total memory.
func (c *Context) MemInfo() (free, total uint64, err error) {
	err = c.Do(func() error { return c.d.check("cuMemGetInfo", c.d.cuMemGetInfo(&free, &total)) })
	return free, total, err
}

// SetLimit caps the device bytes this context may hold (0 = the device's own limit).
func (c *Context) SetLimit(bytes int64) {
	c.mu.Lock()
	c.limit = bytes
	c.mu.Unlock()
}

// Held is the device bytes allocated through c and not freed.
func (c *Context) Held() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// Close waits for queued work, destroys the stream and releases the
// primary context. Buffers, modules and graphs must be freed first.
func (c *Context) Close() error {
	return c.Do(func() error {
		err := c.sync()
		if e := c.d.check("cuStreamDestroy", c.d.cuStreamDestroy(c.stream)); err == nil {
			err = e
		}
		if e := c.d.check("cuDevicePrimaryCtxRelease", c.d.cuDevicePrimaryCtxRelease(c.dev)); err == nil {
			err = e
		}
		return err
	})
}

// hostPtr is the address of a slice's first element (nil for empty).
func hostPtr[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}
