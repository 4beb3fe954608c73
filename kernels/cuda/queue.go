package cuda

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Queue is the context's stream inside Run: work queued on it runs in
// order on the device, and Run waits for all of it before returning. A
// Queue is valid only inside the Run call that passed it.
type Queue struct {
	c    *Context
	keep []any // host memory the queued copies read or write
}

// Run calls f with the context's queue, on one locked OS thread with the
// context current and no other caller of c in between, then waits for
// the queued work and returns the first error.
func (c *Context) Run(f func(q *Queue) error) error {
	return c.Do(func() error {
		q := &Queue{c: c}
		err := f(q)
		if e := c.sync(); err == nil {
			err = e
		}
		runtime.KeepAlive(q.keep)
		return err
	})
}

// Alloc reserves device memory (see Context.Alloc).
func (q *Queue) Alloc(bytes int64) (*Buffer, error) { return q.c.alloc(bytes) }

// Free returns a buffer's memory once the queued work is done.
func (q *Queue) Free(b *Buffer) error {
	if b == nil || b.Ptr == 0 {
		return nil
	}
	if err := q.c.sync(); err != nil {
		return err
	}
	return b.free()
}

// Launch queues a kernel (see Function.Launch for the arguments).
func (q *Queue) Launch(f *Function, grid, block Dim3, shared int, args ...any) error {
	return f.launch(grid, block, shared, args...)
}

// Write queues a copy of the host slice s to device address dst.
func (q *Queue) Write(dst uintptr, s any) error {
	p, n, err := sliceBytes(s)
	if err != nil {
		return err
	}
	q.keep = append(q.keep, s)
	return q.c.copyIn(dst, p, n)
}

// Read queues a copy from device address src into the host slice s; s
// holds the data once Run returns (or after Sync).
func (q *Queue) Read(s any, src uintptr) error {
	p, n, err := sliceBytes(s)
	if err != nil {
		return err
	}
	q.keep = append(q.keep, s)
	return q.c.copyOut(p, src, n)
}

// Copy queues a device-to-device copy of n bytes.
func (q *Queue) Copy(dst, src uintptr, n int64) error { return q.c.copyDD(dst, src, n) }

// Sync waits for the queued work.
func (q *Queue) Sync() error { return q.c.sync() }

// Capture records what f queues into a graph instead of running it.
func (q *Queue) Capture(f func(q *Queue) error) (*Graph, error) {
	c := q.c
	g := &Graph{c: c}
	const relaxed = 2 // CU_STREAM_CAPTURE_MODE_RELAXED
	if err := c.d.check("cuStreamBeginCapture", c.d.cuStreamBeginCapture(c.stream, relaxed)); err != nil {
		return nil, err
	}
	ferr := f(q)
	endErr := c.d.check("cuStreamEndCapture", c.d.cuStreamEndCapture(c.stream, &g.graph))
	if ferr != nil || endErr != nil {
		if g.graph != 0 {
			c.d.cuGraphDestroy(g.graph)
		}
		if ferr != nil {
			return nil, ferr
		}
		return nil, endErr
	}
	if err := c.d.check("cuGraphInstantiate", c.d.cuGraphInstantiate(&g.exe, g.graph, 0)); err != nil {
		c.d.cuGraphDestroy(g.graph)
		return nil, err
	}
	return g, nil
}

// LaunchGraph queues one replay of g.
func (q *Queue) LaunchGraph(g *Graph) error {
	return q.c.d.check("cuGraphLaunch", q.c.d.cuGraphLaunch(g.exe, q.c.stream))
}

// sliceBytes is the address and byte length of a slice of a fixed-size
// element type used on the device.
func sliceBytes(s any) (unsafe.Pointer, int64, error) {
	switch v := s.(type) {
	case []float32:
		return hostPtr(v), int64(len(v)) * 4, nil
	case []int32:
		return hostPtr(v), int64(len(v)) * 4, nil
	case []uint16:
		return hostPtr(v), int64(len(v)) * 2, nil
	case []uint32:
		return hostPtr(v), int64(len(v)) * 4, nil
	case []byte:
		return hostPtr(v), int64(len(v)), nil
	case []AttnSeq:
		return hostPtr(v), int64(len(v)) * attnSeqBytes, nil
	case []RowStat:
		return hostPtr(v), int64(len(v)) * int64(unsafe.Sizeof(RowStat{})), nil
	}
	return nil, 0, fmt.Errorf("cuda: copy of %T (want []float32, []int32, []uint16, []uint32, []byte, []AttnSeq or []RowStat)", s)
}
