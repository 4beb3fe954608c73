package cuda

import (
	"errors"
	"strings"
	"testing"
)

// TestCuBLASBinds: where libcublas is installed (CI installs the
// nvidia-cublas wheel), every entry point the backend calls is bound, and
// without a GPU creating a handle fails with cuBLAS's own reason.
func TestCuBLASBinds(t *testing.T) {
	b, err := loadCuBLAS()
	if errors.Is(err, ErrNoLibrary) {
		t.Skipf("cuBLAS absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cuBLAS %s", b.lib.path)
	if _, derr := Devices(); derr == nil {
		t.Skip("a device is present: TestConformance covers the handle")
	}
	var h uintptr
	err = b.check("cublasCreate", b.cublasCreate(&h))
	if err == nil {
		b.cublasDestroy(h)
		t.Fatal("cublasCreate succeeded without a device")
	}
	if !strings.Contains(err.Error(), "cublasCreate") || !strings.Contains(err.Error(), "cublasStatus") {
		t.Errorf("error %q does not name the call and status", err)
	}
}

// TestCuBLASMissing: no library gives one line naming what was looked for.
func TestCuBLASMissing(t *testing.T) {
	_, err := openCuBLAS([]string{t.TempDir()})
	if !errors.Is(err, ErrNoLibrary) || !strings.Contains(err.Error(), "libcublas.so.13") {
		t.Fatalf("err = %v", err)
	}
}

// TestLaunchArgs: arguments of a type the kernel ABI cannot take (Go's
// int, slices) are refused before any driver call.
func TestLaunchArgs(t *testing.T) {
	f := &Function{Name: "k", c: &Context{d: &driver{}}}
	for _, a := range []any{7, []float32{1}, "s"} {
		if err := f.launch(Dim3{X: 1}, Dim3{X: 1}, 0, int32(1), a); err == nil || !strings.Contains(err.Error(), "argument 1") {
			t.Errorf("%T: err = %v", a, err)
		}
	}
}
