// Element-wise kernels of the decoder. bf16 values are raw bits (unsigned
// short), widened exactly: float with the bits b << 16.

__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __uint_as_float((unsigned)b << 16); }

// SwiGLU, as cpu.SiLUMul: gate[i] = silu(gate[i]) · up[i], n values.
extern "C" __global__ void silu_mul_f32(float* __restrict__ gate, const float* __restrict__ up, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float g = gate[i];
        gate[i] = g / (1.f + __expf(-g)) * up[i];
    }
}

// Embedding gather from a bf16 table: out[r, :] = table[ids[r], :], widened.
// Grid: (ceil(hidden / blockDim.x), rows). Shapes: ids [rows]; table [vocab, hidden]; out [rows, hidden].
extern "C" __global__ void embed_bf16(float* __restrict__ out, const unsigned short* __restrict__ table,
                                      const int* __restrict__ ids, int hidden) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int r = blockIdx.y;
    if (c < hidden) out[(size_t)r * hidden + c] = bf16_to_f32(table[(size_t)ids[r] * hidden + c]);
}

// Rotary embedding, rotate-half (Hugging Face Qwen): for each row r and head h,
// x[r, h, i] and x[r, h, i + d/2] rotate by pos[r] · theta^(-2i/d), i < d/2.
// Grid: (rows, heads); blockDim.x ≥ d/2. Shapes: x [rows, heads, d]; pos [rows];
// invFreq [d/2] (theta^(-2i/d), computed on the host in float64 as cpu.NewRoPE does).
extern "C" __global__ void rope_f32(float* __restrict__ x, const int* __restrict__ pos,
                                    const float* __restrict__ invFreq, int heads, int d) {
    int i = threadIdx.x;
    int half = d / 2;
    if (i >= half) return;
    float* v = x + ((size_t)blockIdx.x * heads + blockIdx.y) * d;
    float ang = (float)pos[blockIdx.x] * invFreq[i];
    float s, c;
    sincosf(ang, &s, &c);
    float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
}
