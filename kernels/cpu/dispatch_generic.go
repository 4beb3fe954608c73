//go:build !amd64

package cpu

func detect() *impl { return &generic }

// available lists every path this CPU can run, generic first.
func available() []*impl { return []*impl{&generic} }

func readSum(b []uint64) uint64 { return readSumGeneric(b) }

// attnOpsList lists the attention inner-loop sets this CPU can run.
func attnOpsList() []*attnOps { return []*attnOps{&scalarAttnOps} }
