package cpu

import "math"

// expf returns e^x in float32 arithmetic: Cody-Waite reduction x = n·ln2 + r,
// |r| <= ln2/2, and the degree-6 polynomial of Cephes expf, then scaling by
// 2^n through the exponent bits. Max error vs the correctly rounded result
// is 2 ulp (TestExpf); results below 2^-126 flush to 0 and x > 88.72 gives
// +Inf. It is several times faster than float32(math.Exp(float64(x))), which
// matters in softmax over a 151936-entry vocabulary and in attention.
func expf(x float32) float32 {
	if !(x <= 88.72283) { // also +Inf and NaN
		if x != x {
			return x
		}
		return float32(math.Inf(1))
	}
	if x < -87.33654 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	fn := x*log2e + 0.5
	n := int32(fn)
	if fn < 0 && float32(n) != fn {
		n-- // floor
	}
	nf := float32(n)
	r := x - nf*c1 - nf*c2
	z := r * r
	y := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	y = y*z + r + 1
	if n < -126 { // y·2^n, with 2^n subnormal: scale in two steps
		return y * math.Float32frombits(uint32(n+127+64)<<23) * (1.0 / (1 << 64))
	}
	if n > 127 {
		return y * 2 * math.Float32frombits(uint32(n-1+127)<<23)
	}
	return y * math.Float32frombits(uint32(n+127)<<23)
}

var negInf = math.Inf(-1)

// expRowGeneric sets x[i] = expf(x[i]·scale - bias) and returns Σ x[i] (float64).
func expRowGeneric(x []float32, scale, bias float32) float64 {
	var sum float64
	for i, v := range x {
		e := expf(v*scale - bias)
		x[i] = e
		sum += float64(e)
	}
	return sum
}

// maxRowGeneric returns max(x) (-Inf for an empty row).
func maxRowGeneric(x []float32) float32 {
	mx := float32(negInf)
	for _, v := range x {
		mx = max(mx, v)
	}
	return mx
}
