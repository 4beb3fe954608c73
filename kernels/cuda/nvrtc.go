package cuda

import (
	"fmt"
	"runtime"
	"sync"
)

// nvrtc holds libnvrtc's entry points.
type nvrtc struct {
	lib                    *library
	nvrtcVersion           func(major, minor *int32) int32
	nvrtcCreateProgram     func(prog *uintptr, src, name string, nHeaders int32, headers, includeNames uintptr) int32
	nvrtcCompileProgram    func(prog uintptr, nOptions int32, options **byte) int32
	nvrtcGetPTXSize        func(prog uintptr, size *uint64) int32
	nvrtcGetPTX            func(prog uintptr, ptx *byte) int32
	nvrtcGetProgramLogSize func(prog uintptr, size *uint64) int32
	nvrtcGetProgramLog     func(prog uintptr, log *byte) int32
	nvrtcDestroyProgram    func(prog *uintptr) int32
	nvrtcGetErrorString    func(r int32) *byte
}

var (
	nvrtcOnce sync.Once
	nvrtcLib  *nvrtc
	nvrtcErr  error
)

// loadNVRTC opens libnvrtc.so.13 or .12, once.
func loadNVRTC() (*nvrtc, error) {
	nvrtcOnce.Do(func() { nvrtcLib, nvrtcErr = openNVRTC(searchDirs()) })
	return nvrtcLib, nvrtcErr
}

func openNVRTC(dirs []string) (*nvrtc, error) {
	lib, err := openLibrary(dirs, []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"})
	if err != nil {
		return nil, err
	}
	n := &nvrtc{lib: lib}
	if err := lib.bind(map[string]any{
		"nvrtcVersion": &n.nvrtcVersion, "nvrtcCreateProgram": &n.nvrtcCreateProgram,
		"nvrtcCompileProgram": &n.nvrtcCompileProgram, "nvrtcGetPTXSize": &n.nvrtcGetPTXSize,
		"nvrtcGetPTX": &n.nvrtcGetPTX, "nvrtcGetProgramLogSize": &n.nvrtcGetProgramLogSize,
		"nvrtcGetProgramLog": &n.nvrtcGetProgramLog, "nvrtcDestroyProgram": &n.nvrtcDestroyProgram,
		"nvrtcGetErrorString": &n.nvrtcGetErrorString,
	}); err != nil {
		return nil, err
	}
	return n, nil
}

// NVRTCVersion reports the NVRTC found, as "major.minor (path)".
func NVRTCVersion() (string, error) {
	n, err := loadNVRTC()
	if err != nil {
		return "", err
	}
	var major, minor int32
	if r := n.nvrtcVersion(&major, &minor); r != 0 {
		return "", n.errorf("nvrtcVersion", r, "")
	}
	return fmt.Sprintf("%d.%d (%s)", major, minor, n.lib.path), nil
}

func (n *nvrtc) errorf(call string, r int32, log string) error {
	msg := cString(n.nvrtcGetErrorString(r))
	if log != "" {
		return fmt.Errorf("cuda: %s: %s:\n%s", call, msg, log)
	}
	return fmt.Errorf("cuda: %s: %s (nvrtcResult %d)", call, msg, r)
}

// CompilePTX compiles CUDA C source (name is used in messages) to PTX for
// arch, e.g. "compute_90", with the given extra NVRTC options. A compile
// error returns NVRTC's log.
func CompilePTX(src, name, arch string, options ...string) (string, error) {
	n, err := loadNVRTC()
	if err != nil {
		return "", err
	}
	var prog uintptr
	if r := n.nvrtcCreateProgram(&prog, src, name, 0, 0, 0); r != 0 {
		return "", n.errorf("nvrtcCreateProgram "+name, r, "")
	}
	defer n.nvrtcDestroyProgram(&prog)
	opts := append([]string{"--gpu-architecture=" + arch, "--std=c++17", "-default-device"}, options...)
	cs := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		cs[i] = append([]byte(o), 0)
		ptrs[i] = &cs[i][0]
	}
	r := n.nvrtcCompileProgram(prog, int32(len(ptrs)), &ptrs[0])
	runtime.KeepAlive(cs)
	runtime.KeepAlive(ptrs)
	if r != 0 {
		var size uint64
		log := ""
		if n.nvrtcGetProgramLogSize(prog, &size) == 0 && size > 1 {
			b := make([]byte, size)
			if n.nvrtcGetProgramLog(prog, &b[0]) == 0 {
				log = string(b[:size-1])
			}
		}
		return "", n.errorf("compile "+name, r, log)
	}
	var size uint64
	if r := n.nvrtcGetPTXSize(prog, &size); r != 0 || size == 0 {
		return "", n.errorf("nvrtcGetPTXSize "+name, r, "")
	}
	ptx := make([]byte, size)
	if r := n.nvrtcGetPTX(prog, &ptx[0]); r != 0 {
		return "", n.errorf("nvrtcGetPTX "+name, r, "")
	}
	return string(ptx[:size-1]), nil
}
