// Package cuda is the engine's CUDA backend, loaded at run time: a binary
// built with CGO_ENABLED=0 (as Dataflow builds Go workers) opens the
// NVIDIA libraries with purego when a machine has them and runs on the CPU
// kernels when it does not.
//
// The pieces, one file each: the libraries and the devices (lib.go,
// driver.go: libcuda.so.1, with one-line reasons when CUDA is unusable:
// no library, no device, a driver too old), a device's primary context and
// its stream (context.go), device memory (memory.go), the queue that work
// is issued on inside Context.Run (queue.go), CUDA graphs (graph.go),
// NVRTC (nvrtc.go) compiling the embedded CUDA C kernels under kernels/
// for the device, with compiled PTX kept on disk (ptxcache.go), modules
// and launches (module.go, kernels.go), cuBLAS (cublas.go: bf16 GEMMs with
// fp32 accumulation), and Backend (backend.go): one device ready to run a
// decoder, with a launcher per kernel (launch.go) and host-slice forms of
// each for the conformance suite (ops.go, kernels/kerneltest).
//
// Libraries are searched, in order, in $DLMSTREAM_CUDA_LIB_PATH (a
// colon-separated list of folders; when set, the only place searched),
// else $LD_LIBRARY_PATH, the usual CUDA folders and the nvidia-* Python
// wheel folders of the interpreters' site-packages (pip install
// nvidia-cuda-nvrtc nvidia-cublas puts libnvrtc and libcublas there).
//
// Driver calls need the context current on the calling OS thread, so every
// call locks its goroutine to its thread and a Context serialises its
// callers; a forward issues all its work inside one Context.Run.
package cuda
