//go:build !amd64

package cpu

// vnniActive: there are no VNNI kernels off amd64.
func vnniActive() bool { return false }

// matMulPackedInt8VNNI is the generic twin off amd64.
func matMulPackedInt8VNNI(out, x []float32, pw *PackedInt8, m int) {
	matMulPackedInt8Generic(out, x, pw, m)
}
