//go:build amd64

package cpu

//go:noescape
func widenBF16AVX512(dst *float32, src *uint16, n int)

//go:noescape
func widenBF16AVX2(dst *float32, src *uint16, n int)

//go:noescape
func roundBF16AVX512(dst *uint16, src *float32, n int)

// widenBF16 is BF16ToF32 on the widest vectors this CPU has.
func widenBF16(dst []float32, src []uint16) {
	n := len(src)
	done := 0
	switch {
	case hasAVX512 && n >= 16:
		done = n &^ 15
		_ = dst[done-1]
		widenBF16AVX512(&dst[0], &src[0], done/16)
	case hasAVX2 && n >= 8:
		done = n &^ 7
		_ = dst[done-1]
		widenBF16AVX2(&dst[0], &src[0], done/8)
	}
	BF16ToF32(dst[done:n], src[done:])
}

// roundBF16 is F32ToBF16 (bit for bit) on AVX-512 where the CPU has it.
func roundBF16(dst []uint16, src []float32) {
	n := len(src)
	done := 0
	if hasAVX512 && n >= 16 {
		done = n &^ 15
		_ = dst[done-1]
		roundBF16AVX512(&dst[0], &src[0], done/16)
	}
	F32ToBF16(dst[done:n], src[done:])
}
