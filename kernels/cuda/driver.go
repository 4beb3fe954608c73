package cuda

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// MinDriver is the oldest CUDA driver API version used (12.0).
const MinDriver = 12000

// Device is one CUDA device as the driver reports it.
type Device struct {
	Ordinal      int
	Name         string
	Major, Minor int    // compute capability
	MemoryBytes  uint64 // total device memory
	Driver       int    // driver API version, 1000·major + 10·minor
	Library      string // the libcuda opened
}

// Arch is the device's virtual architecture for NVRTC, e.g. "compute_90".
func (d Device) Arch() string { return fmt.Sprintf("compute_%d%d", d.Major, d.Minor) }

func (d Device) String() string {
	return fmt.Sprintf("CUDA device %d: %s, compute capability %d.%d, %.1f GiB, driver %d.%d (%s)",
		d.Ordinal, d.Name, d.Major, d.Minor, float64(d.MemoryBytes)/(1<<30), d.Driver/1000, d.Driver%1000/10, d.Library)
}

// driver holds libcuda's entry points.
type driver struct {
	lib                  *library
	cuInit               func(flags uint32) int32
	cuDriverGetVersion   func(v *int32) int32
	cuDeviceGetCount     func(n *int32) int32
	cuDeviceGet          func(d *int32, ordinal int32) int32
	cuDeviceGetName      func(name *byte, n int32, d int32) int32
	cuDeviceGetAttribute func(v *int32, attr int32, d int32) int32
	cuDeviceTotalMem     func(b *uint64, d int32) int32
	cuGetErrorString     func(r int32, s **byte) int32

	// Contexts, memory, modules, launches, streams and graphs (context.go
	// and the files after it).
	cuDevicePrimaryCtxRetain  func(ctx *uintptr, d int32) int32
	cuDevicePrimaryCtxRelease func(d int32) int32
	cuCtxSetCurrent           func(ctx uintptr) int32
	cuCtxSynchronize          func() int32
	cuMemGetInfo              func(free, total *uint64) int32
	cuMemAlloc                func(p *uintptr, bytes uint64) int32
	cuMemFree                 func(p uintptr) int32
	cuMemcpyHtoDAsync         func(dst uintptr, src unsafe.Pointer, bytes uint64, stream uintptr) int32
	cuMemcpyDtoHAsync         func(dst unsafe.Pointer, src uintptr, bytes uint64, stream uintptr) int32
	cuMemcpyDtoDAsync         func(dst, src uintptr, bytes uint64, stream uintptr) int32
	cuMemsetD8Async           func(dst uintptr, v uint8, n uint64, stream uintptr) int32
	cuModuleLoadData          func(m *uintptr, image *byte) int32
	cuModuleGetFunction       func(f *uintptr, m uintptr, name string) int32
	cuModuleUnload            func(m uintptr) int32
	cuLaunchKernel            func(f uintptr, gx, gy, gz, bx, by, bz, shared uint32, stream uintptr, params *unsafe.Pointer, extra uintptr) int32
	cuStreamCreate            func(s *uintptr, flags uint32) int32
	cuStreamSynchronize       func(s uintptr) int32
	cuStreamDestroy           func(s uintptr) int32
	cuStreamBeginCapture      func(s uintptr, mode int32) int32
	cuStreamEndCapture        func(s uintptr, g *uintptr) int32
	cuGraphInstantiate        func(e *uintptr, g uintptr, flags uint64) int32
	cuGraphLaunch             func(e, s uintptr) int32
	cuGraphExecDestroy        func(e uintptr) int32
	cuGraphDestroy            func(g uintptr) int32
}

// CUdevice_attribute values used here.
const (
	attrComputeMajor = 75
	attrComputeMinor = 76
)

var (
	drvOnce sync.Once
	drv     *driver
	drvErr  error
)

// loadDriver opens libcuda.so.1 and initialises the driver, once.
func loadDriver() (*driver, error) {
	drvOnce.Do(func() { drv, drvErr = openDriver(searchDirs()) })
	return drv, drvErr
}

func openDriver(dirs []string) (*driver, error) {
	lib, err := openLibrary(dirs, []string{"libcuda.so.1", "libcuda.so"})
	if err != nil {
		return nil, err
	}
	d := &driver{lib: lib}
	if err := lib.bind(map[string]any{
		"cuInit": &d.cuInit, "cuDriverGetVersion": &d.cuDriverGetVersion, "cuDeviceGetCount": &d.cuDeviceGetCount,
		"cuDeviceGet": &d.cuDeviceGet, "cuDeviceGetName": &d.cuDeviceGetName, "cuDeviceGetAttribute": &d.cuDeviceGetAttribute,
		"cuDeviceTotalMem_v2": &d.cuDeviceTotalMem, "cuGetErrorString": &d.cuGetErrorString,
		"cuDevicePrimaryCtxRetain": &d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRelease_v2": &d.cuDevicePrimaryCtxRelease,
		"cuCtxSetCurrent": &d.cuCtxSetCurrent, "cuCtxSynchronize": &d.cuCtxSynchronize, "cuMemGetInfo_v2": &d.cuMemGetInfo,
		"cuMemAlloc_v2": &d.cuMemAlloc, "cuMemFree_v2": &d.cuMemFree, "cuMemcpyHtoDAsync_v2": &d.cuMemcpyHtoDAsync,
		"cuMemcpyDtoHAsync_v2": &d.cuMemcpyDtoHAsync, "cuMemcpyDtoDAsync_v2": &d.cuMemcpyDtoDAsync, "cuMemsetD8Async": &d.cuMemsetD8Async,
		"cuModuleLoadData": &d.cuModuleLoadData, "cuModuleGetFunction": &d.cuModuleGetFunction, "cuModuleUnload": &d.cuModuleUnload,
		"cuLaunchKernel": &d.cuLaunchKernel, "cuStreamCreate": &d.cuStreamCreate, "cuStreamSynchronize": &d.cuStreamSynchronize,
		"cuStreamDestroy_v2": &d.cuStreamDestroy, "cuStreamBeginCapture_v2": &d.cuStreamBeginCapture, "cuStreamEndCapture": &d.cuStreamEndCapture,
		"cuGraphInstantiateWithFlags": &d.cuGraphInstantiate, "cuGraphLaunch": &d.cuGraphLaunch, "cuGraphExecDestroy": &d.cuGraphExecDestroy,
		"cuGraphDestroy": &d.cuGraphDestroy,
	}); err != nil {
		return nil, err
	}
	var v int32
	if err := d.check("cuDriverGetVersion", d.cuDriverGetVersion(&v)); err != nil {
		return nil, err
	}
	if v < MinDriver {
		return nil, fmt.Errorf("cuda: driver API %d.%d in %s is older than %d.%d", v/1000, v%1000/10, lib.path, MinDriver/1000, MinDriver%1000/10)
	}
	if err := d.check("cuInit", d.cuInit(0)); err != nil {
		return nil, err
	}
	return d, nil
}

// check turns a CUresult into an error naming the call.
func (d *driver) check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	msg := "unknown error"
	var s *byte
	if d.cuGetErrorString != nil && d.cuGetErrorString(r, &s) == 0 && s != nil {
		msg = cString(s)
	}
	return fmt.Errorf("cuda: %s: %s (CUresult %d)", call, msg, r)
}

// ErrNoDevice is returned when the driver loads but sees no device.
var ErrNoDevice = errors.New("cuda: no CUDA device")

// Devices returns the machine's CUDA devices, or an error saying in one
// line why there are none usable (no libcuda, a driver too old, no device).
func Devices() ([]Device, error) {
	d, err := loadDriver()
	if err != nil {
		return nil, err
	}
	var n, ver int32
	if err := d.check("cuDeviceGetCount", d.cuDeviceGetCount(&n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w (driver %s)", ErrNoDevice, d.lib.path)
	}
	_ = d.cuDriverGetVersion(&ver)
	out := make([]Device, 0, n)
	for i := range n {
		var dev, major, minor int32
		var mem uint64
		name := make([]byte, 256)
		calls := []func() (string, int32){
			func() (string, int32) { return "cuDeviceGet", d.cuDeviceGet(&dev, i) },
			func() (string, int32) { return "cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), dev) },
			func() (string, int32) {
				return "cuDeviceGetAttribute", d.cuDeviceGetAttribute(&major, attrComputeMajor, dev)
			},
			func() (string, int32) {
				return "cuDeviceGetAttribute", d.cuDeviceGetAttribute(&minor, attrComputeMinor, dev)
			},
			func() (string, int32) { return "cuDeviceTotalMem", d.cuDeviceTotalMem(&mem, dev) },
		}
		for _, c := range calls { // in order: each needs the one before
			if err := d.check(c()); err != nil {
				return nil, err
			}
		}
		out = append(out, Device{Ordinal: int(i), Name: cString(&name[0]), Major: int(major), Minor: int(minor),
			MemoryBytes: mem, Driver: int(ver), Library: d.lib.path})
	}
	return out, nil
}

// cString copies a NUL-terminated C string.
func cString(p *byte) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for q := unsafe.Pointer(p); *(*byte)(q) != 0; q = unsafe.Add(q, 1) {
		b.WriteByte(*(*byte)(q))
	}
	return b.String()
}
