package cuda

import (
	"errors"
	"strings"
	"testing"
)

// nvrtcOrSkip skips when no NVRTC is installed (CI installs the
// nvidia-cuda-nvrtc wheel, so a kernel that does not compile fails there).
func nvrtcOrSkip(t *testing.T) {
	t.Helper()
	v, err := NVRTCVersion()
	if errors.Is(err, ErrNoLibrary) {
		t.Skipf("NVRTC absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NVRTC %s", v)
}

// TestCompileKernels: every embedded kernel compiles to PTX for the
// architectures the backend targets (A100, H100/H200), and each
// extern "C" kernel is an entry point of the PTX under its own name.
func TestCompileKernels(t *testing.T) {
	nvrtcOrSkip(t)
	srcs := Sources()
	if len(srcs) == 0 {
		t.Fatal("no embedded kernels")
	}
	for _, s := range srcs {
		names := entryRE.FindAllStringSubmatch(s.Code, -1)
		if len(names) == 0 {
			t.Errorf("%s declares no extern \"C\" kernels", s.Name)
		}
		for _, arch := range []string{"compute_80", "compute_90"} {
			ptx, err := CompilePTX(s.Code, s.Name, arch)
			if err != nil {
				t.Fatalf("%s for %s: %v", s.Name, arch, err)
			}
			for _, n := range names {
				if !strings.Contains(ptx, ".entry "+n[1]+"(") {
					t.Errorf("%s for %s: PTX has no entry %s", s.Name, arch, n[1])
				}
			}
			if want := ".target sm_" + arch[len("compute_"):]; !strings.Contains(ptx, want) {
				t.Errorf("%s for %s: PTX lacks %q", s.Name, arch, want)
			}
		}
	}
}

// TestCompileError: a kernel that does not compile returns NVRTC's log,
// naming the file and the problem.
func TestCompileError(t *testing.T) {
	nvrtcOrSkip(t)
	_, err := CompilePTX(`extern "C" __global__ void broken(float* x) { x[0] = undeclared; }`, "broken.cu", "compute_90")
	if err == nil || !strings.Contains(err.Error(), "broken.cu") || !strings.Contains(err.Error(), "undeclared") {
		t.Fatalf("error = %v, want NVRTC's log naming broken.cu and undeclared", err)
	}
}
