// Package cuda is the engine's CUDA backend, loaded at run time: a binary
// built with CGO_ENABLED=0 (as Dataflow builds Go workers) opens the
// NVIDIA libraries with purego when a machine has them and runs on the CPU
// kernels when it does not.
//
// This first part finds and opens the libraries (libcuda.so.1 for the
// driver, libnvrtc.so.{13,12} for compiling the embedded CUDA C kernels
// to PTX), reports in one line why CUDA is unavailable when it is (no
// library, no device, a driver too old), and compiles the kernels under
// kernels/ for a device's compute capability. cuBLAS, device memory, the
// paged KV cache on the device and the engine's backend choice build on it.
//
// Libraries are searched, in order, in $DLMSTREAM_CUDA_LIB_PATH (a
// colon-separated list of folders; when set, the only place searched),
// else $LD_LIBRARY_PATH, the usual CUDA folders and the nvidia-* Python
// wheel folders of the interpreters' site-packages (pip install
// nvidia-cuda-nvrtc puts libnvrtc there).
package cuda
