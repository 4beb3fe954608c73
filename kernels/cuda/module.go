package cuda

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// Module is PTX loaded into a context (the driver JIT-compiles it for the
// device, keeping its own cache of the result).
type Module struct {
	c   *Context
	mod uintptr
	fns map[string]uintptr
}

// LoadPTX loads PTX text into the context.
func (c *Context) LoadPTX(ptx string) (*Module, error) {
	m := &Module{c: c, fns: map[string]uintptr{}}
	img := append([]byte(ptx), 0)
	err := c.Do(func() error {
		defer runtime.KeepAlive(img)
		return c.d.check("cuModuleLoadData", c.d.cuModuleLoadData(&m.mod, &img[0]))
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Function returns the kernel of that extern "C" name.
func (m *Module) Function(name string) (*Function, error) {
	var f uintptr
	err := m.c.Do(func() error {
		return m.c.d.check("cuModuleGetFunction "+name, m.c.d.cuModuleGetFunction(&f, m.mod, name))
	})
	if err != nil {
		return nil, err
	}
	m.fns[name] = f
	return &Function{c: m.c, f: f, Name: name}, nil
}

// Unload frees the module; its functions must not be launched after.
func (m *Module) Unload() error {
	return m.c.Do(func() error { return m.c.d.check("cuModuleUnload", m.c.d.cuModuleUnload(m.mod)) })
}

// Function is one kernel entry point.
type Function struct {
	Name string
	c    *Context
	f    uintptr
}

// Dim3 is a grid or block shape.
type Dim3 struct{ X, Y, Z int }

// Launch queues the kernel on the context's stream. Each argument is one
// kernel parameter: *Buffer or uintptr (a device pointer), int32, int64,
// uint32, uint64 or float32, matching the kernel's C types (int is refused,
// because C's int is 32 bits and Go's is not).
func (f *Function) Launch(grid, block Dim3, shared int, args ...any) error {
	return f.c.Do(func() error { return f.launch(grid, block, shared, args...) })
}

func (f *Function) launch(grid, block Dim3, shared int, args ...any) error {
	slots := make([]uint64, len(args))
	params := make([]unsafe.Pointer, max(len(args), 1))
	for i, a := range args {
		switch v := a.(type) {
		case *Buffer:
			slots[i] = uint64(v.Ptr)
		case uintptr:
			slots[i] = uint64(v)
		case int32:
			*(*int32)(unsafe.Pointer(&slots[i])) = v
		case uint32:
			*(*uint32)(unsafe.Pointer(&slots[i])) = v
		case int64:
			slots[i] = uint64(v)
		case uint64:
			slots[i] = v
		case float32:
			*(*uint32)(unsafe.Pointer(&slots[i])) = math.Float32bits(v)
		default:
			return fmt.Errorf("cuda: %s argument %d: unsupported type %T", f.Name, i, a)
		}
		params[i] = unsafe.Pointer(&slots[i])
	}
	dims := [6]int{grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z}
	for i, v := range dims {
		if v <= 0 {
			if v == 0 && i%3 != 0 { // Y and Z default to 1
				dims[i] = 1
				continue
			}
			return fmt.Errorf("cuda: %s: grid %v block %v", f.Name, grid, block)
		}
	}
	r := f.c.d.cuLaunchKernel(f.f, uint32(dims[0]), uint32(dims[1]), uint32(dims[2]),
		uint32(dims[3]), uint32(dims[4]), uint32(dims[5]), uint32(shared), f.c.stream, &params[0], 0)
	runtime.KeepAlive(slots)
	runtime.KeepAlive(params)
	return f.c.d.check(fmt.Sprintf("cuLaunchKernel %s grid %v block %v", f.Name, grid, block), r)
}
