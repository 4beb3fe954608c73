package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"dlmstream/kernels/cpu"
	"dlmstream/kernels/cuda"
)

func init() {
	register("devices", "list the CPU kernels and the CUDA devices and NVRTC this binary finds (or why none)", runDevices)
}

// runDevices prints what the engine could run on: the CPU kernel path, then
// each CUDA device, or the one line saying why CUDA is unavailable, and
// the NVRTC that would compile the kernels.
func runDevices(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cpu: kernels %s\n", cpu.Path())
	devs, err := cuda.Devices()
	if err != nil {
		fmt.Fprintf(stdout, "cuda: unavailable: %s\n", strings.TrimPrefix(err.Error(), "cuda: "))
	}
	for _, d := range devs {
		fmt.Fprintf(stdout, "cuda: %v\n", d)
	}
	if v, err := cuda.NVRTCVersion(); err != nil {
		fmt.Fprintf(stdout, "nvrtc: unavailable: %s\n", strings.TrimPrefix(err.Error(), "cuda: "))
	} else {
		fmt.Fprintf(stdout, "nvrtc: %s\n", v)
	}
	return nil
}
