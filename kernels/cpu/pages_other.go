//go:build !linux

package cpu

// ReleaseMapped drops the pages of b from resident memory on Linux (see
// pages_linux.go); elsewhere it does nothing.
func ReleaseMapped(b []byte) {}

func adviseHugePages(b []byte) {}
