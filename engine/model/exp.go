package model

import "math"

// Exp32 is a fast float32 e^x for x <= 0 (softmax after max subtraction):
// x = n·ln2 + r with |r| <= ln2/2, e^r by a degree-6 polynomial, then 2^n by
// exponent bits. Relative error < 2e-7 on [-87, 0]; below that it returns 0.
// The vocabulary-wide softmax of every masked position runs this once per
// token id, so it is the decoder's hot loop.
func Exp32(x float32) float32 {
	if x < -87 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.0/720)*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
