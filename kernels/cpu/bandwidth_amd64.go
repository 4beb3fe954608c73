//go:build amd64

package cpu

// readSumAVX512 adds up n 256-byte blocks starting at p as uint64 lanes.
//
//go:noescape
func readSumAVX512(p *uint64, n int) uint64

func readSum(b []uint64) uint64 {
	nb := len(b) / 32
	if !hasAVX512 || nb == 0 {
		return readSumGeneric(b)
	}
	return readSumAVX512(&b[0], nb) + readSumGeneric(b[nb*32:])
}
