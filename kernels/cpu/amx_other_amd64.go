//go:build !linux

package cpu

// amxPermit: AMX is used on Linux only (where arch_prctl grants the tile
// state); other systems keep the AVX-512 panel kernels.
func amxPermit() bool { return false }
