// Package tensor holds the element types the engine stores weights in and the
// weight matrix that every model's linear layers use.
//
// Weights stay in their checkpoint dtype in memory (bf16 as raw uint16 bits,
// fp32 as float32, optionally int8 with one scale per row); all arithmetic is
// fp32. fp16 checkpoints are widened to fp32 at load time, because rounding
// fp16 to bf16 would drop three mantissa bits the reference keeps. The
// conversions themselves are kernels/cpu's BF16ToF32, F32ToBF16, F16ToF32.
package tensor

import "fmt"

// DType is the element type of a stored tensor.
type DType uint8

const (
	Invalid DType = iota
	F32
	F16
	BF16
	I8
	U8
	I32
	I64
	F64
	Bool
)

var dtypeNames = [...]string{Invalid: "invalid", F32: "F32", F16: "F16", BF16: "BF16", I8: "I8", U8: "U8", I32: "I32", I64: "I64", F64: "F64", Bool: "BOOL"}

// String returns the safetensors spelling of the dtype ("BF16", "F32", ...).
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", d)
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case F32, I32:
		return 4
	case F16, BF16:
		return 2
	case I8, U8, Bool:
		return 1
	case I64, F64:
		return 8
	}
	return 0
}

// ParseDType maps a safetensors dtype name to a DType.
func ParseDType(s string) (DType, error) {
	for i, n := range dtypeNames {
		if i != int(Invalid) && n == s {
			return DType(i), nil
		}
	}
	return Invalid, fmt.Errorf("unknown dtype %q (supported: F32, F16, BF16, I8, U8, I32, I64, F64, BOOL)", s)
}
