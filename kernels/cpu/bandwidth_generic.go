//go:build !amd64

package cpu

func readSum(b []uint64) uint64 { return readSumGeneric(b) }
