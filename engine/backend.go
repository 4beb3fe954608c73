package engine

import (
	"fmt"
	"log"
	"sync"

	"dlmstream/engine/model"
	"dlmstream/kernels/cuda"
)

// Backends a model's forward runs on (Options.Backend).
const (
	BackendCPU  = "cpu"  // the CPU kernels (the default)
	BackendCUDA = "cuda" // a CUDA device; an error when there is none
	BackendAuto = "auto" // CUDA when a device is usable, else CPU with one line saying why
)

// deviceModel is what a model offers to run on a CUDA device.
type deviceModel interface {
	Device(b *cuda.Backend) (model.Model, error)
}

var (
	backendOnce sync.Once
	backendDev  *cuda.Backend
	backendErr  error
)

// sharedBackend opens device 0 once per process: every engine (one per
// checkpoint) shares its context, kernels and cuBLAS handle.
func sharedBackend() (*cuda.Backend, error) {
	backendOnce.Do(func() { backendDev, backendErr = cuda.NewBackend(0) })
	return backendDev, backendErr
}

// checkBackend validates Options.Backend.
func checkBackend(b string) error {
	switch b {
	case "", BackendCPU, BackendCUDA, BackendAuto:
		return nil
	}
	return fmt.Errorf("engine: unknown backend %q (want cpu, cuda or auto)", b)
}

// resolveBackend settles auto before the checkpoint loads (a model for
// the CPU packs its weights, one for the device does not): auto without a
// usable device is CPU, logged in one line; otherwise it stays auto.
func resolveBackend(b string) string {
	switch b {
	case "", BackendCPU:
		return BackendCPU
	case BackendAuto:
		if _, err := sharedBackend(); err != nil {
			log.Printf("engine: backend auto: running on the CPU: %v", err)
			return BackendCPU
		}
	}
	return b
}

// onBackend moves m to the chosen backend: itself for CPU, its device
// form for CUDA. With auto, a machine without a usable device (or a model
// the device path does not take) stays on the CPU and logs one line.
func onBackend(m model.Model, backend string) (model.Model, error) {
	if backend == "" || backend == BackendCPU {
		return m, nil
	}
	dm, err := toDevice(m)
	if err == nil {
		return dm, nil
	}
	if backend == BackendAuto {
		log.Printf("engine: backend auto: running on the CPU: %v", err)
		return m, nil
	}
	return nil, err
}

// OnBackend returns m on the backend named ("cpu", "cuda" or "auto"), for
// callers that build models themselves (benchmarks, NewWithModel): the
// device form of m for CUDA, m itself for CPU. Load a model for the device
// with model.LoadOptions.Exact (unpacked bf16), as New does.
func OnBackend(m model.Model, backend string) (model.Model, error) {
	if err := checkBackend(backend); err != nil {
		return nil, err
	}
	return onBackend(m, resolveBackend(backend))
}

// SharedBackend is the process's CUDA device (device 0), opened once.
func SharedBackend() (*cuda.Backend, error) { return sharedBackend() }

func toDevice(m model.Model) (model.Model, error) {
	d, ok := m.(deviceModel)
	if !ok {
		return nil, fmt.Errorf("engine: %s models have no CUDA forward", m.Config().ModelType)
	}
	b, err := sharedBackend()
	if err != nil {
		return nil, err
	}
	return d.Device(b)
}
