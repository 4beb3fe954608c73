package kerneltest

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"dlmstream/kernels/cpu"
)

// seed fixes every input of the suite. Each case draws from its own PCG
// stream, keyed by seed and the case's op and name, so adding or
// reordering cases leaves the other cases' inputs unchanged.
const seed uint64 = 0x6b65726e656c7465

// newRand returns the input stream of case name of op.
func newRand(op, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(op + "/" + name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// normals returns n draws of N(0, scale²) rounded to fp32.
func normals(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

// bf16Normals returns n draws of N(0, scale²) rounded to bf16 bits.
func bf16Normals(r *rand.Rand, n int, scale float64) []uint16 {
	b := make([]uint16, n)
	cpu.F32ToBF16(b, normals(r, n, scale))
	return b
}

// nans returns an output buffer of n NaNs, so an element a backend leaves
// unwritten fails its comparison.
func nans(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	return x
}
