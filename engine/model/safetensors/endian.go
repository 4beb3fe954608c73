package safetensors

import (
	"math"
	"unsafe"
)

// littleEndian reports whether the host stores integers little-endian, which
// is what lets F32/BF16 tensors alias the mapped file without a copy.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

func float32frombits(u uint32) float32 { return math.Float32frombits(u) }

func float32bits(f float32) uint32 { return math.Float32bits(f) }
