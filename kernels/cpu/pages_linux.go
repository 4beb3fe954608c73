//go:build linux

package cpu

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pageInterior returns the whole pages inside b (nil if none).
func pageInterior(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	ps := uintptr(os.Getpagesize())
	p := uintptr(unsafe.Pointer(&b[0]))
	lo := (p + ps - 1) &^ (ps - 1)
	hi := (p + uintptr(len(b))) &^ (ps - 1)
	if hi <= lo {
		return nil
	}
	return b[lo-p : hi-p]
}

// ReleaseMapped asks the kernel to reclaim the whole pages of b now
// (madvise MADV_PAGEOUT, Linux 5.4+): for a checkpoint's read-only file
// mapping whose contents were copied elsewhere (PackBF16), this takes them
// out of resident memory. The contents are kept whatever memory b is (a
// later read faults the page back in from the file, or swap); errors are
// ignored (it is advice).
func ReleaseMapped(b []byte) {
	if b = pageInterior(b); b != nil {
		_ = unix.Madvise(b, unix.MADV_PAGEOUT)
	}
}

// adviseHugePages asks for transparent huge pages on the whole 2 MiB
// regions inside b (madvise MADV_HUGEPAGE; honoured when THP is
// "madvise" or "always"), before b is first written.
func adviseHugePages(b []byte) {
	const huge = 2 << 20
	if len(b) < 2*huge {
		return
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	lo := (p + huge - 1) &^ (huge - 1)
	hi := (p + uintptr(len(b))) &^ (huge - 1)
	if hi > lo {
		_ = unix.Madvise(b[lo-p:hi-p], unix.MADV_HUGEPAGE)
	}
}
