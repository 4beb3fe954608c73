package model

import "fmt"

// FlashState is one sequence's FlashBlock cache (dllm-engine-spec.md 8):
// per layer, the block-external attention A_out of the current block's
// query rows over the committed prefix keys [0, Start), with its
// log-sum-exp. A forward of a Seq with Flash set computes, for its rows at
// positions >= Start, only the block-internal attention over keys
// [Start, KeyLen) and merges it with the cached A_out
// (cpu.MergeAttention); it first (re)computes and caches A_out when the
// state does not hold those rows for this Start, or Refresh is set.
//
// The merge is exact; the reuse is FlashBlock's approximation: a block's
// queries change between its denoising steps, and A_out keeps those of
// the forward that cached it. Memory is bounded by one block per
// sequence: layers × rows × nHeads × (headDim+1) floats (FlashBytes),
// freed by Drop; the engine charges it against its KV budget.
//
// A FlashState belongs to one sequence and is not safe for concurrent use.
type FlashState struct {
	// ** set by the decoder **

	// Start is the absolute position of the current block's first row:
	// keys [0, Start) are block-external. Under a block-causal mask it is
	// a multiple of the block size.
	Start int
	// Refresh makes the next forward recompute A_out (cleared by it).
	Refresh bool

	// ** kept by the model **
	start, off, n int         // the cache holds rows at positions start+[off, off+n)
	out, lse      [][]float32 // per layer: [n, nHeads, headDim], [n, nHeads]
}

// ** used by decoders **

// Drop frees the cached attention (the block committed, or the sequence
// ended); the next forward recomputes it.
func (f *FlashState) Drop() {
	f.out, f.lse, f.n = nil, nil, 0
}

// FlashBytes is the most a FlashState holds for a model of layers layers
// and nHeads query heads of headDim, decoding blocks of block rows: what
// an engine charges against its KV budget for a sequence with FlashBlock
// on (a forward caches at most its block's rows).
func FlashBytes(layers, block, nHeads, headDim int) int64 {
	return 4 * int64(layers) * int64(block) * int64(nHeads) * int64(headDim+1)
}

// Bytes is the memory the cache holds.
func (f *FlashState) Bytes() int64 {
	var b int64
	for i := range f.out {
		b += 4 * int64(len(f.out[i])+len(f.lse[i]))
	}
	return b
}

// ** used by model implementations **

// Holds reports whether the cache has A_out for the rows at positions
// Start+[off, off+n) and no refresh is asked for.
func (f *FlashState) Holds(off, n int) bool {
	return !f.Refresh && f.out != nil && f.start == f.Start && off >= f.off && off+n <= f.off+f.n
}

// Reset sizes the cache for rows at positions Start+[off, off+n) of a
// model with the given layers and head layout and clears Refresh; the
// forward that calls it must then fill every layer (Layer).
func (f *FlashState) Reset(off, n, layers, nHeads, headDim int) {
	if off < 0 || n <= 0 {
		panic(fmt.Sprintf("model.FlashState.Reset: rows [%d, %d)", off, off+n))
	}
	f.start, f.off, f.n, f.Refresh = f.Start, off, n, false
	if len(f.out) != layers {
		f.out, f.lse = make([][]float32, layers), make([][]float32, layers)
	}
	for l := range layers {
		f.out[l] = grow(f.out[l], n*nHeads*headDim)
		f.lse[l] = grow(f.lse[l], n*nHeads)
	}
}

// Layer returns layer l's cached rows from position Start+off to the
// cache's end: out [.., nHeads, headDim] and lse [.., nHeads] (nHeads and
// headDim as given to Reset).
func (f *FlashState) Layer(l, off, nHeads, headDim int) (out, lse []float32) {
	r := off - f.off
	return f.out[l][r*nHeads*headDim:], f.lse[l][r*nHeads:]
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
