package cpu

import "golang.org/x/sys/unix"

// amxPermit asks Linux (5.16+) for the AMX tile data state of this process:
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). Without it the first
// tile instruction faults. The permission covers every thread, and the
// kernel grants it only if every signal stack can hold the larger XSAVE
// area (Go's are 32 KiB; the AMX state adds 8 KiB of tile data).
func amxPermit() bool {
	const archReqXcompPerm, xfeatureXtileData = 0x1023, 18
	_, _, errno := unix.RawSyscall(unix.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtileData, 0)
	return errno == 0
}
