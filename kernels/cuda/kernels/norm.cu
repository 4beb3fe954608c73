// RMSNorm over rows, as cpu.RMSNorm: out[r, :] = x[r, :] / sqrt(mean(x²) + eps) · w.
// Grid: one block per row; blockDim.x a power of two ≤ 1024. Shapes: x, out [rows, n]; w [n].
// The sum of squares is accumulated in fp32 per thread, then reduced in shared memory.
extern "C" __global__ void rmsnorm_f32(float* __restrict__ out, const float* __restrict__ x,
                                       const float* __restrict__ w, int n, float eps) {
    extern __shared__ float partial[];
    const float* xr = x + (size_t)blockIdx.x * n;
    float* orow = out + (size_t)blockIdx.x * n;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = xr[i];
        s += v * v;
    }
    partial[threadIdx.x] = s;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) partial[threadIdx.x] += partial[threadIdx.x + k];
        __syncthreads();
    }
    float inv = rsqrtf(partial[0] / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) orow[i] = xr[i] * inv * w[i];
}
