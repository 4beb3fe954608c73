// Greedy pick and the unmasking statistics of logit rows, as
// decode.Sampler.Pick at temperature 0.

#define NEG_INF __uint_as_float(0xff800000u)
#define NO_INDEX 0x7fffffff

// One row's result; mirrored by a Go struct {Token int32; Conf, Margin,
// LogitMargin, Entropy float32} (20 bytes).
struct RowStat {
    int token;         // argmax, the lowest index on ties; -1 when every entry is -Inf
    float conf;        // softmax probability of token: 1/Z
    float margin;      // p(top1) - p(top2) = (1 - exp(l2 - max)) / Z
    float logitMargin; // max - l2; +Inf without a second finite entry
    float entropy;     // -Σ p log p = log Z - EZ/Z (nats)
};

// Exponential as decode's exp32: 0 below -87 (so -Inf entries add nothing,
// not 0·-Inf), expf otherwise; NaN stays NaN.
__device__ __forceinline__ float pick_exp(float x) { return x < -87.f ? 0.f : expf(x); }

// For row r = blockIdx.x of logits [rows, vocab], out[r] = its RowStat.
//
// Pass 1 finds the largest entry (the lowest index among equal ones, as
// Pick's left-to-right scan with strict >) and l2, the second largest of the
// row's entries as a multiset (a tie for the top gives l2 = max). Each thread
// scans the columns t, t + blockDim.x, .. in order, then the per-thread
// (max, index, second) triples are merged in shared memory. Entries that are
// -Inf (or NaN) are never chosen.
// Pass 2 sums Z = Σ exp(l - max) and EZ = Σ exp(l - max)·(l - max) in double
// (exp itself in float), as Pick does; double costs nothing measurable in a
// pass bound by reading the row, and keeps Z exact to ~1e-16 over any vocab.
// Differences from Pick: an all -Inf row gives token -1 and zeros (Pick
// returns index 0 and NaNs); an entry of -Inf adds 0 to EZ (Pick adds
// 0·-Inf = NaN, so its entropy is NaN whenever a logit is -Inf). A NaN logit
// makes conf, margin and entropy NaN, as in Pick.
//
// Grid: (rows); blockDim.x a power of two, 256..1024 (any power of two works).
// Dynamic shared memory: exactly blockDim.x · 16 bytes (pass 1 uses 12 per
// thread: max, index, second; pass 2 uses 16: two doubles).
extern "C" __global__ void row_stats_f32(RowStat* __restrict__ out, const float* __restrict__ logits, int vocab) {
    extern __shared__ double smem[]; // [2][blockDim.x] doubles = blockDim.x · 16 bytes
    const float* row = logits + (size_t)blockIdx.x * vocab;
    const int t = threadIdx.x, nt = blockDim.x;

    // Pass 1: top two.
    float v1 = NEG_INF, v2 = NEG_INF;
    int i1 = NO_INDEX;
    for (int i = t; i < vocab; i += nt) {
        float l = row[i];
        if (l > v1) {
            v2 = v1;
            v1 = l;
            i1 = i;
        } else if (l > v2) {
            v2 = l;
        }
    }
    float* sv1 = (float*)smem;         // [nt] max
    int* si1 = (int*)(sv1 + nt);       // [nt] its index
    float* sv2 = (float*)(si1 + nt);   // [nt] second
    sv1[t] = v1;
    si1[t] = i1;
    sv2[t] = v2;
    __syncthreads();
    for (int k = nt / 2; k > 0; k >>= 1) {
        if (t < k) {
            float a1 = sv1[t], b1 = sv1[t + k];
            int ai = si1[t], bi = si1[t + k];
            if (b1 > a1 || (b1 == a1 && bi < ai)) {
                sv1[t] = b1;
                si1[t] = bi;
                sv2[t] = fmaxf(sv2[t + k], a1);
            } else {
                sv2[t] = fmaxf(sv2[t], b1);
            }
        }
        __syncthreads();
    }
    const float mx = sv1[0], l2 = sv2[0];
    const int tok = si1[0];
    __syncthreads(); // everyone has read pass 1's result before smem is reused

    if (!(mx > NEG_INF)) { // every entry -Inf (or NaN): the same branch for the whole block
        if (t == 0) {
            RowStat r = {-1, 0.f, 0.f, 0.f, 0.f};
            out[blockIdx.x] = r;
        }
        return;
    }

    // Pass 2: Z and EZ.
    double z = 0.0, ez = 0.0;
    for (int i = t; i < vocab; i += nt) {
        float d = row[i] - mx;
        float e = pick_exp(d);
        if (e != 0.f || d != d) { // skip exact zeros (d < -87, -Inf); keep NaN
            z += (double)e;
            ez += (double)e * (double)d;
        }
    }
    double* sz = smem;       // [nt]
    double* sez = smem + nt; // [nt]
    sz[t] = z;
    sez[t] = ez;
    __syncthreads();
    for (int k = nt / 2; k > 0; k >>= 1) {
        if (t < k) {
            sz[t] += sz[t + k];
            sez[t] += sez[t + k];
        }
        __syncthreads();
    }
    if (t == 0) {
        double Z = sz[0], EZ = sez[0];
        RowStat r;
        r.token = tok;
        r.conf = (float)(1.0 / Z);
        r.entropy = (float)(log(Z) - EZ / Z);
        r.margin = (float)((1.0 - (double)pick_exp(l2 - mx)) / Z); // l2 = -Inf: conf
        r.logitMargin = mx - l2;                                    // l2 = -Inf: +Inf
        out[blockIdx.x] = r;
    }
}
