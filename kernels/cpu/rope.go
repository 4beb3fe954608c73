package cpu

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// RoPE applies rotary position embeddings in the NeoX / rotate_half layout
// used by Hugging Face Qwen2 and Qwen3: the head vector is split in two
// halves, and pair (i, i+headDim/2) is rotated by angle pos·invFreq[i].
//
// Numerics follow torch (default rope type, attention_scaling 1):
//
//	invFreq[i] = 1 / theta^(float32(2i)/float32(headDim))  in float32
//	angle      = float32(pos) * invFreq[i]                  float32 multiply
//	cos, sin   = cos/sin of that float32 angle, rounded to float32
//
// A table of cos/sin per position is built on demand and grown (copy on
// write) when a larger position is seen; Apply is safe for concurrent use.
type RoPE struct {
	headDim int
	invFreq []float32 // [headDim/2]
	mu      sync.Mutex
	table   atomic.Pointer[ropeTable]
}

// ropeTable holds cos and sin for positions [0, n): cos, sin: [n, headDim/2].
type ropeTable struct {
	n        int
	cos, sin []float32
}

// NewRoPE returns rotary embeddings for heads of headDim (even) with base theta
// (rope_theta in the model config, e.g. 1e6 for Qwen3).
func NewRoPE(headDim int, theta float64) *RoPE {
	if headDim <= 0 || headDim%2 != 0 {
		panic(fmt.Sprintf("cpu.NewRoPE: headDim %d must be even and > 0", headDim))
	}
	half := headDim / 2
	r := &RoPE{headDim: headDim, invFreq: make([]float32, half)}
	base := float64(float32(theta))
	for i := range half {
		e := float32(2*i) / float32(headDim)
		p := float32(math.Pow(base, float64(e)))
		r.invFreq[i] = 1 / p
	}
	r.table.Store(&ropeTable{})
	return r
}

// InvFreq returns a copy of the inverse frequencies [headDim/2], for
// backends that rotate on another device with the same numerics.
func (r *RoPE) InvFreq() []float32 { return append([]float32(nil), r.invFreq...) }

// tableFor returns a table covering positions [0, need).
func (r *RoPE) tableFor(need int) *ropeTable {
	t := r.table.Load()
	if need <= t.n {
		return t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t = r.table.Load()
	if need <= t.n {
		return t
	}
	n := max(need, 2*t.n, 256)
	half := r.headDim / 2
	nt := &ropeTable{n: n, cos: make([]float32, n*half), sin: make([]float32, n*half)}
	copy(nt.cos, t.cos)
	copy(nt.sin, t.sin)
	for p := t.n; p < n; p++ {
		for i := range half {
			nt.cos[p*half+i], nt.sin[p*half+i] = r.cosSin(p, i)
		}
	}
	r.table.Store(nt)
	return nt
}

// cosSin returns cos and sin of float32(p)·invFreq[i] (angle rounded to float32).
func (r *RoPE) cosSin(p, i int) (c, s float32) {
	a := float64(float32(p) * r.invFreq[i])
	return float32(math.Cos(a)), float32(math.Sin(a))
}

// Apply rotates x in place. x: [rows, nHeads, headDim]; row r is at absolute
// position pos[r] >= 0; pos: [rows].
func (r *RoPE) Apply(x []float32, rows, nHeads int, pos []int) {
	d := r.headDim
	if rows < 0 || nHeads < 0 || len(x) < rows*nHeads*d || len(pos) < rows {
		panic(fmt.Sprintf("cpu.RoPE.Apply: bad shapes rows=%d nHeads=%d headDim=%d len(x)=%d len(pos)=%d",
			rows, nHeads, d, len(x), len(pos)))
	}
	maxPos := -1
	for _, p := range pos[:rows] {
		if p < 0 {
			panic(fmt.Sprintf("cpu.RoPE.Apply: negative position %d", p))
		}
		maxPos = max(maxPos, p)
	}
	t := r.tableFor(maxPos + 1)
	half := d / 2
	for row := 0; row < rows; row++ {
		p := pos[row]
		cs := t.cos[p*half : p*half+half]
		sn := t.sin[p*half : p*half+half]
		for h := 0; h < nHeads; h++ {
			v := x[(row*nHeads+h)*d : (row*nHeads+h+1)*d]
			a, b := v[:half], v[half:d]
			for i := range half {
				x0, x1 := a[i], b[i]
				a[i] = x0*cs[i] - x1*sn[i]
				b[i] = x1*cs[i] + x0*sn[i]
			}
		}
	}
}
