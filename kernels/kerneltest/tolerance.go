package kerneltest

import "math"

// A tolerance accepts an output element when |got − want| ≤ rel·scale +
// abs, where want is the float64 reference and scale is the op's natural
// magnitude for that element (named per op below). An exactly equal got
// always passes (so ±Inf can be checked). The same bounds apply when a
// backend other than "cpu" is compared with CPU{}: the CPU kernels sit far
// inside them (Run logs the worst |Δ|/bound of every case; see -v), so
// agreement within one bound is the meaningful check.
type tolerance struct {
	rel, abs float64
}

func (t tolerance) bound(scale float64) float64 { return t.rel*scale + t.abs }

// minNormal32 is float32's smallest normal number: results below it may be
// flushed to zero (GPUs run with FTZ) without failing any op.
const minNormal32 = 0x1p-126

// matmulTol(k) bounds MatMulBF16 with scale Σ_p |x[i,p]·w[j,p]|. The
// weights are exact (bf16 widens exactly); rounding the activations to
// bf16 first, as PyTorch's bf16 path and VDPBF16PS / tensor cores do,
// moves each product by at most 2⁻⁸ relative (bf16's unit roundoff), and
// any fp32 summation order of k products adds at most ≈ k·2⁻²⁴ of the
// same sum. A missing or doubled term, a wrong row or a transposed weight
// is far outside.
func matmulTol(k int) tolerance {
	return tolerance{rel: 0x1p-8 + float64(k+2)*0x1p-24, abs: minNormal32}
}

var (
	// rmsnormTol, scale |want|: out = w·x·scale is a product, so its
	// relative error is that of the scale: the fp32 mean and an rsqrt of
	// ≤ 2 ulp (GPU rsqrtf), a few 1e-7. A sum of squares in fp16/bf16, a
	// mean over the wrong count (dim ± 1 moves dim 1027 by 5e-4) or eps
	// inside the square root twice is outside.
	rmsnormTol = tolerance{rel: 1e-5, abs: minNormal32}

	// ropeTol, scale the rotated pair's norm √(x₀² + x₁²): two fp32
	// products and a sum with cos/sin of ≤ 2 ulp (CUDA sincosf with full
	// range reduction) are ≈ 4e-7 of it. The angle must be rounded as
	// cpu.NewRoPE documents (float32 invFreq, float32(pos)·invFreq): at
	// position 40000 an angle computed in float64 instead moves by up to
	// ulp(40000)/2 ≈ 2e-3 rad, and __sinf (fast math) is worse still; both
	// fail.
	ropeTol = tolerance{rel: 1e-5, abs: minNormal32}

	// siluTol, scale |want|: g/(1+e^−g) with expf (≤ 2 ulp), a division
	// and a product: ≈ 5e-7 relative. abs 1e-30: for g < −88.7 e^−g
	// overflows fp32 and the result is −0 (as torch's) where the true
	// value is ~1e-37.
	siluTol = tolerance{rel: 1e-5, abs: 1e-30}

	// addTol, scale |want|: an fp32 sum is correctly rounded, within half
	// an ulp (2⁻²⁴ relative) of the exact float64 sum; one ulp is allowed.
	addTol = tolerance{rel: 0x1p-23, abs: minNormal32}

	// embedTol: widening bf16 to fp32 is exact (a 16-bit shift); the rows
	// must match bit for bit, subnormals included.
	embedTol = tolerance{}

	// attentionTol, scale max |v| over the case's stored values (bf16
	// pages: the rounded values, so the bf16 storage error is not charged
	// to the kernel): an output is a convex combination of v, and fp32
	// scores (a headDim-term dot product), expf and the fp32 normalisation
	// perturb its weights by ≲ 1e-6 relative here (scores of order 1-10).
	// A wrong scale (1/headDim, or 1.001/√headDim), a key off the mask
	// or reading a row past nk is outside.
	attentionTol = tolerance{rel: 1e-5, abs: minNormal32}

	// statsTol bounds RowStat's Conf, Margin, LogitMargin and Entropy in
	// absolute terms (scale 0): float64 or fp32 tree sums of Z over a
	// 150k vocabulary and expf of ≤ 2 ulp give ≲ 3e-6 on the entropy;
	// fp32 logit differences (|logit| < 64 here) are exact to ≤ 4e-6.
	statsTol = tolerance{abs: 1e-5}

	// tieWindow: Token must be the reference's argmax, or any token whose
	// logit is within tieWindow of the maximum (reductions in another
	// order may pick another of near-equal logits; Pick takes the first).
	tieWindow = 1e-5
)

// within reports whether got passes want under tol at scale.
func within(got, want float64, tol tolerance, scale float64) bool {
	return got == want || math.Abs(got-want) <= tol.bound(scale)
}
