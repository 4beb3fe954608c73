//go:build !amd64

package cpu

func detect() *impl { return &generic }

// available lists every path this CPU can run, generic first.
func available() []*impl { return []*impl{&generic} }

func readSum(b []uint64) uint64 { return readSumGeneric(b) }

// attnOpsList lists the attention inner-loop sets this CPU can run.
func attnOpsList() []*attnOps { return []*attnOps{&scalarAttnOps} }

// batchAttnOps is the inner-loop set path p's Attention runs at headDim d
// (nil: none known; AttentionBatch then calls p.attention per sequence).
func batchAttnOps(p *impl, d int) *attnOps {
	if p == &generic {
		return &scalarAttnOps
	}
	return nil
}
