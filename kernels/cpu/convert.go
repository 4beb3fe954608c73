package cpu

import "math"

// BF16ToF32 widens raw bf16 bits to float32: dst[i] = float32 with the bits src[i]<<16.
// len(dst) must be >= len(src).
func BF16ToF32(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = math.Float32frombits(uint32(b) << 16)
	}
}

// bf16 rounds one float32 to bf16 bits, round-to-nearest-even; NaN stays NaN.
func bf16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN: keep it quiet and non-zero
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// F32ToBF16 rounds float32 to raw bf16 bits, round-to-nearest-even (as
// torch's .to(torch.bfloat16)). len(dst) must be >= len(src).
func F32ToBF16(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = bf16(f)
	}
}

// F16ToF32 widens raw IEEE half-precision bits to float32 (exact, including
// subnormals, infinities and NaN). len(dst) must be >= len(src).
func F16ToF32(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = f16(h)
	}
}

func f16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf / NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// zero or subnormal: man * 2^-24
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	default:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	}
}
