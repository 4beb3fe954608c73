package engine

import (
	"context"
	"strings"
	"testing"

	"dlmstream/kernels/cuda"
)

// TestBackendOption: an unknown backend is refused by name; cuda without a
// usable device fails with the one-line reason; auto and cpu run on the
// CPU there (on a machine with a device, cuda and auto run on it).
func TestBackendOption(t *testing.T) {
	_, devErr := cuda.Devices()
	if _, err := New(tinySDAR, Options{Backend: "tpu"}); err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Errorf("backend tpu: err = %v", err)
	}
	for _, b := range []string{BackendCPU, BackendAuto, BackendCUDA} {
		t.Run(b, func(t *testing.T) {
			e, err := New(tinySDAR, Options{Backend: b})
			if b == BackendCUDA && devErr != nil {
				if err == nil || !strings.Contains(err.Error(), "cuda") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("cuda without a device: err = %v, want one line naming cuda", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			_, onDevice := e.Model.(interface{ Free() })
			if want := b != BackendCPU && devErr == nil; onDevice != want {
				t.Errorf("model %T: on the device = %v, want %v", e.Model, onDevice, want)
			}
			res, err := e.Generate(context.Background(), Request{Tokens: []int32{1, 2, 3}, MaxNewTokens: 8})
			if err != nil {
				t.Fatal(err)
			}
			if res.Tokens == 0 {
				t.Error("no tokens generated")
			}
		})
	}
}
