package cuda_test

import (
	"fmt"

	"dlmstream/kernels/cuda"
)

// On a machine without CUDA, Devices says in one line why; the engine then
// runs on the CPU kernels.
func ExampleDevices() {
	devs, err := cuda.Devices()
	if err != nil {
		fmt.Println("CPU only:", err)
		return
	}
	for _, d := range devs {
		fmt.Println(d)
	}
}

// The embedded kernels compile to PTX for a device's architecture (here an
// H100/H200's compute_90) with the NVRTC the search finds.
func ExampleCompilePTX() {
	for _, s := range cuda.Sources() {
		ptx, err := cuda.CompilePTX(s.Code, s.Name, "compute_90")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s.Name, len(ptx) > 0)
	}
}
