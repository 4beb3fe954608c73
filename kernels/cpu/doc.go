// Package cpu holds the CPU kernels of the dlmstream inference engine: the
// Qwen2/Qwen3 forward pass with bf16 (or f32, int8) weights and fp32
// compute. Every kernel takes flat row-major []float32 slices with the
// shapes written in its doc comment; nothing allocates per element and
// nothing uses cgo.
//
// # Paths
//
// The three matmuls (MatMulF32, MatMulBF16, MatMulInt8) have a plain-Go
// "generic" path that runs everywhere and, on amd64, Go-assembly fast paths
// chosen at init from CPU features (see Path). Setting the environment
// variable DLMSTREAM_KERNELS=generic at start-up forces the generic path.
// All other kernels (RMSNorm, RoPE, Softmax, SiLUMul, Add, AddBias,
// Attention) are plain Go on every path.
//
//   - generic: fp32 multiply-add, 4 partial sums; bf16 and int8 weights
//     are widened exactly to fp32. Error vs float64 ~ k·2⁻²⁴ relative to Σ|x·w|.
//
// Matmuls split the n output features across SetThreads goroutines, so every
// weight byte is read once per call whatever the number m of activation rows:
// decoding a block of 4-8 tokens costs about as much as one token while the
// kernel is memory-bound.
package cpu
