//go:build !amd64

package cpu

func widenBF16(dst []float32, src []uint16) { BF16ToF32(dst, src) }

func roundBF16(dst []uint16, src []float32) { F32ToBF16(dst, src) }
