// Paged KV cache and attention over it, as cpu.PagedKV and cpu.AttentionBatch
// with KP/VP set.
//
// Pages (engine/kvcache): every sequence owns pages of KV_PAGE_ROWS (16)
// positions; a page holds every layer's K and V, each head-major
// [kvHeads][16][d], so a page of a layer's K starts at
// pool + page·pageElems + offK (V at + offV): element (kh, r, c) of the K
// part is pool[page·pageElems + offK + (kh·16 + r)·d + c]. Position p of a
// sequence lies in page pageTables[pageTab0 + p/16], row p%16. pool is f32
// or bf16 (raw bits: rounded to nearest even when stored, widened exactly
// when read, so every product and sum is fp32).
//
// A launch covers a batch of sequences, one AttnSeq each (mirrored by a Go
// struct of 8 int32, 32 bytes). Sequence s's query rows are rows
// qRow0 .. qRow0+nq-1 of q/out (and of k/v for kv_store); its row i is at
// absolute position qPos0+i; its keys are positions 0 .. nk-1.

#define KV_PAGE_ROWS 16
#define NEG_INF __uint_as_float(0xff800000u)

struct AttnSeq {
    int qRow0;     // first row of the sequence in q, out (and k, v of kv_store)
    int nq;        // its query rows
    int qPos0;     // absolute position of its row 0
    int nk;        // keys: positions 0 .. nk-1 (may exceed qPos0+nq: scratch rows)
    int pageTab0;  // its page ids start at pageTables[pageTab0]
    int maskKind;  // 0 causal (k <= q), 1 bidirectional, 2 block-causal (k/maskBlock <= q/maskBlock)
    int maskBlock; // block of maskKind 2, > 0
    int pad;
};

__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __uint_as_float((unsigned)b << 16); }

// Rounds a float to bf16 bits, round to nearest even, as cpu.F32ToBF16 bit
// for bit (NaN stays NaN, made quiet; ±Inf stays ±Inf). Same as elementwise.cu.
__device__ __forceinline__ unsigned short f32_to_bf16_rne(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

__device__ __forceinline__ float kv_load(const float* p) { return *p; }
__device__ __forceinline__ float kv_load(const unsigned short* p) { return bf16_to_f32(*p); }
__device__ __forceinline__ void kv_put(float* p, float v) { *p = v; }
__device__ __forceinline__ void kv_put(unsigned short* p, float v) { *p = f32_to_bf16_rne(v); }

// Offset in the pool, relative to the K or V part, of kv head kh at position pos.
__device__ __forceinline__ long long kv_row(const int* __restrict__ pageTables, const AttnSeq& s,
                                            long long pageElems, int kh, int pos, int d) {
    long long page = pageTables[s.pageTab0 + pos / KV_PAGE_ROWS];
    return page * pageElems + (long long)(kh * KV_PAGE_ROWS + pos % KV_PAGE_ROWS) * d;
}

// Keys a query at absolute position qpos attends to: 0 .. limit-1 (every mask
// allows a prefix of the positions, as cpu.Mask.keyLimit), clamped to nk.
// An unknown maskKind is causal; a block-causal maskBlock <= 0 is taken as 1
// (causal) rather than dividing by zero: the launcher rejects both.
__device__ __forceinline__ int attn_key_limit(const AttnSeq& s, int qpos) {
    long long lim;
    if (s.maskKind == 1) {
        lim = s.nk;
    } else if (s.maskKind == 2) {
        int b = s.maskBlock > 0 ? s.maskBlock : 1;
        lim = ((long long)(qpos / b) + 1) * b;
    } else {
        lim = (long long)qpos + 1;
    }
    return (int)min(lim, (long long)s.nk);
}

// ---------------------------------------------------------------------------
// KV store: the rows of the current block go into the pages.

// For sequence s = blockIdx.z and its row i = blockIdx.x < nq, at position
// p = qPos0+i: K row k[qRow0+i, :] and V row v[qRow0+i, :] (kvHeads·d floats,
// head-major) are written to page pageTables[pageTab0 + p/16], row p%16.
template <typename T>
__device__ __forceinline__ void kv_store(T* __restrict__ pool, const int* __restrict__ pageTables,
                                         const AttnSeq* __restrict__ seqs, const float* __restrict__ k,
                                         const float* __restrict__ v, long long pageElems, long long offK,
                                         long long offV, int kvHeads, int d) {
    const AttnSeq s = seqs[blockIdx.z];
    int i = blockIdx.x;
    if (i >= s.nq) return;
    int pos = s.qPos0 + i;
    int w = kvHeads * d;
    const float* kr = k + (long long)(s.qRow0 + i) * w;
    const float* vr = v + (long long)(s.qRow0 + i) * w;
    T* base = pool + kv_row(pageTables, s, pageElems, 0, pos, d); // head 0 of the row
    for (int e = threadIdx.x; e < w; e += blockDim.x) {
        int h = e / d, c = e - h * d;
        long long o = (long long)h * KV_PAGE_ROWS * d + c;
        kv_put(base + offK + o, kr[e]);
        kv_put(base + offV + o, vr[e]);
    }
}

// Grid: (maxNQ, 1, nseqs), maxNQ the largest nq; blockDim.x: any (e.g. 128;
// the threads loop over kvHeads·d). No dynamic shared memory.
// Shapes: k, v [total rows, kvHeads, d] f32; pool bf16 bits; seqs [nseqs];
// pageTables: each sequence's page ids from its pageTab0.
extern "C" __global__ void kv_store_bf16(unsigned short* __restrict__ pool, const int* __restrict__ pageTables,
                                         const AttnSeq* __restrict__ seqs, const float* __restrict__ k,
                                         const float* __restrict__ v, long long pageElems, long long offK,
                                         long long offV, int kvHeads, int d) {
    kv_store(pool, pageTables, seqs, k, v, pageElems, offK, offV, kvHeads, d);
}

// As kv_store_bf16 into an f32 pool (values copied exactly).
// Grid: (maxNQ, 1, nseqs); blockDim.x: any. No dynamic shared memory.
extern "C" __global__ void kv_store_f32(float* __restrict__ pool, const int* __restrict__ pageTables,
                                        const AttnSeq* __restrict__ seqs, const float* __restrict__ k,
                                        const float* __restrict__ v, long long pageElems, long long offK,
                                        long long offV, int kvHeads, int d) {
    kv_store(pool, pageTables, seqs, k, v, pageElems, offK, offV, kvHeads, d);
}

// ---------------------------------------------------------------------------
// Attention over the pages.

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v; // every lane holds the same sum (a butterfly adds the same pairs)
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// One warp computes one query row i of sequence s for query head h, over
// its visible keys 0 .. L-1. Lane l holds columns l, l+32, .., l+32(NT-1)
// (< d) of q and of the output accumulator. Keys go in tiles of 32: the
// dot product of each key is a warp-shuffle sum, lane jj keeps the score
// of the tile's key jj, then one online-softmax step per tile (running
// maximum m and sum l, fp32) rescales the accumulator and adds p·v.
// expf (not __expf) throughout, as the CPU's expf is accurate to ~1 ulp.
template <typename T, int NT>
__device__ __forceinline__ void attention_row(float* __restrict__ out, const float* __restrict__ q,
                                              const T* __restrict__ pool, const int* __restrict__ pageTables,
                                              const AttnSeq& s, long long pageElems, long long offK,
                                              long long offV, int heads, int kvHeads, int d, float scale,
                                              int i, int h, int lane) {
    int kh = h / (heads / kvHeads);
    long long qo = ((long long)(s.qRow0 + i) * heads + h) * d;
    float qv[NT], acc[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        int c = lane + 32 * t;
        qv[t] = c < d ? q[qo + c] : 0.f;
        acc[t] = 0.f;
    }
    int L = attn_key_limit(s, s.qPos0 + i);
    float m = NEG_INF, sum = 0.f;
    for (int j0 = 0; j0 < L; j0 += 32) {
        int nt = min(32, L - j0);
        float sj = NEG_INF; // score of key j0+lane
        for (int jj = 0; jj < nt; ++jj) {
            const T* kr = pool + offK + kv_row(pageTables, s, pageElems, kh, j0 + jj, d);
            float part = 0.f;
#pragma unroll
            for (int t = 0; t < NT; ++t) {
                int c = lane + 32 * t;
                if (c < d) part = fmaf(qv[t], kv_load(kr + c), part);
            }
            part = warp_sum(part) * scale;
            if (lane == jj) sj = part;
        }
        float mNew = fmaxf(m, warp_max(sj));
        if (mNew == NEG_INF) continue; // only with -Inf scores: nothing to add
        float corr = expf(m - mNew);   // 0 on the first tile (m = -Inf)
        float p = expf(sj - mNew);     // 0 for lanes past the tile's keys
        sum = sum * corr + warp_sum(p);
#pragma unroll
        for (int t = 0; t < NT; ++t) acc[t] *= corr;
        for (int jj = 0; jj < nt; ++jj) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            const T* vr = pool + offV + kv_row(pageTables, s, pageElems, kh, j0 + jj, d);
#pragma unroll
            for (int t = 0; t < NT; ++t) {
                int c = lane + 32 * t;
                if (c < d) acc[t] = fmaf(pj, kv_load(vr + c), acc[t]);
            }
        }
        m = mNew;
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        int c = lane + 32 * t;
        if (c < d) out[qo + c] = sum > 0.f ? acc[t] / sum : 0.f; // no visible key: zeros
    }
}

template <typename T>
__device__ __forceinline__ void attention_paged(float* __restrict__ out, const float* __restrict__ q,
                                                const T* __restrict__ pool, const int* __restrict__ pageTables,
                                                const AttnSeq* __restrict__ seqs, long long pageElems,
                                                long long offK, long long offV, int heads, int kvHeads, int d,
                                                float scale) {
    const AttnSeq s = seqs[blockIdx.z];
    int lane = threadIdx.x & 31;
    int i = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); // this warp's query row
    int h = blockIdx.y;
    if (i >= s.nq) return; // whole warps leave; the rest never synchronise across warps
    switch ((d + 31) >> 5) {
    case 1: attention_row<T, 1>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 2: attention_row<T, 2>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 3: attention_row<T, 3>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 4: attention_row<T, 4>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 5: attention_row<T, 5>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 6: attention_row<T, 6>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 7: attention_row<T, 7>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    case 8: attention_row<T, 8>(out, q, pool, pageTables, s, pageElems, offK, offV, heads, kvHeads, d, scale, i, h, lane); break;
    default: break; // d > 256: unsupported, the launcher rejects it (nothing is written)
    }
}

// out[r, h, :] = Σ_j softmax_j(scale · q[r, h, :] · K_j) · V_j over the keys j
// of row r's sequence visible under its mask, K and V from bf16 pages, kv head
// h / (heads/kvHeads) (GQA).
// Grid: (ceil(maxNQ / 4), heads, nseqs), maxNQ the largest nq; blockDim.x = 128
// (4 warps, one query row each; any multiple of 32 works, W warps covering W rows
// with grid.x = ceil(maxNQ / W)). No dynamic shared memory. d <= 256, any d.
// Shapes: q, out [total rows, heads, d] f32; pool bf16 bits; seqs [nseqs].
extern "C" __global__ void attention_paged_bf16(float* __restrict__ out, const float* __restrict__ q,
                                                const unsigned short* __restrict__ pool,
                                                const int* __restrict__ pageTables, const AttnSeq* __restrict__ seqs,
                                                long long pageElems, long long offK, long long offV, int heads,
                                                int kvHeads, int d, float scale) {
    attention_paged(out, q, pool, pageTables, seqs, pageElems, offK, offV, heads, kvHeads, d, scale);
}

// As attention_paged_bf16 over f32 pages.
// Grid: (ceil(maxNQ / 4), heads, nseqs); blockDim.x = 128. No dynamic shared memory.
extern "C" __global__ void attention_paged_f32(float* __restrict__ out, const float* __restrict__ q,
                                               const float* __restrict__ pool, const int* __restrict__ pageTables,
                                               const AttnSeq* __restrict__ seqs, long long pageElems, long long offK,
                                               long long offV, int heads, int kvHeads, int d, float scale) {
    attention_paged(out, q, pool, pageTables, seqs, pageElems, offK, offV, heads, kvHeads, d, scale);
}
