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

// Rounds a float to bf16 bits, round to nearest even, as cpu.F32ToBF16 bit
// for bit: a NaN keeps its sign and top mantissa bits and is made quiet
// (| 0x40), so it stays NaN; ±Inf stays ±Inf; finite values that round past
// the largest bf16 become ±Inf.
__device__ __forceinline__ unsigned short f32_to_bf16_rne(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

// Residual add, as cpu.Add: dst[i] += src[i], n values.
// Grid: (ceil(n / blockDim.x)); any blockDim.x. Shapes: dst, src [n].
extern "C" __global__ void add_f32(float* __restrict__ dst, const float* __restrict__ src, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] += src[i];
}

// Bias add, as cpu.AddBias: x[r, c] += b[c].
// Grid: (ceil(rows·n / blockDim.x)); any blockDim.x. Shapes: x [rows, n]; b [n].
extern "C" __global__ void add_bias_f32(float* __restrict__ x, const float* __restrict__ b, long long rows, int n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * n) x[i] += b[i % n];
}

// Rounding to bf16, as cpu.F32ToBF16: dst[i] = bf16 bits of src[i] (round to
// nearest even; NaN stays NaN). Grid: (ceil(n / blockDim.x)); any blockDim.x.
// Shapes: dst, src [n].
extern "C" __global__ void f32_to_bf16(unsigned short* __restrict__ dst, const float* __restrict__ src, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) dst[i] = f32_to_bf16_rne(src[i]);
}

// Row gather: out[i, :] = x[rows[i], :].
// Grid: (ceil(n / blockDim.x), len(rows)); any blockDim.x.
// Shapes: x [any, n]; rows [len(rows)]; out [len(rows), n].
extern "C" __global__ void gather_rows_f32(float* __restrict__ out, const float* __restrict__ x,
                                           const int* __restrict__ rows, int n) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int i = blockIdx.y;
    if (c < n) out[(size_t)i * n + c] = x[(size_t)rows[i] * n + c];
}

// Seeded uniform bf16 values for benchmark weights made on the device:
// dst[i] = lim · u, u in [-1, 1) from a splitmix64 hash of (seed, i), so a
// value depends only on its index and the seed (any launch shape gives the
// same matrix). 1-D grid over n, any blockDim.
extern "C" __global__ void fill_uniform_bf16(unsigned short* __restrict__ dst, long long n, unsigned long long seed, float lim) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned long long z = seed + (unsigned long long)i * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float u = (float)(z >> 40) * (1.0f / 8388608.0f) - 1.0f; // 24 bits → [-1, 1)
    dst[i] = f32_to_bf16_rne(lim * u);
}

// Sets one column of a row-major matrix: x[r, col] = v for r < rows, rows
// stride floats apart (the mask token's logit to -Inf before row_stats_f32,
// as the decoders do on the host). 1-D grid over rows, any blockDim.
extern "C" __global__ void set_column_f32(float* __restrict__ x, int rows, long long stride, int col, float v) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) x[(long long)r * stride + col] = v;
}
