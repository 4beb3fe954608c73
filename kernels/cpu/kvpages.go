package cpu

import "fmt"

// PagedKV is one layer's keys (or values) of one sequence held in pages of
// PageRows positions, as a paged KV cache stores them. A row is Heads ×
// HeadDim floats (keys after RoPE); each page is head-major,
// [Heads][PageRows][HeadDim], so one head's rows of a page are contiguous
// (Heads 1 is the plain row-major [PageRows, width] page). Exactly one of
// F32 and BF16 is set. bf16 rows are rounded to nearest even when stored
// and widened exactly when attention reads them, so every product and sum
// stays fp32.
type PagedKV struct {
	PageRows, Heads, HeadDim int
	F32                      [][]float32
	BF16                     [][]uint16
}

// Width is the floats of one row.
func (p *PagedKV) Width() int { return p.Heads * p.HeadDim }

// Rows is the number of positions the pages hold.
func (p *PagedKV) Rows() int { return p.PageRows * max(len(p.F32), len(p.BF16)) }

// Store writes rows [pos, pos+n) from x [n, Width] (rounded to bf16 on bf16
// pages). The pages must hold them.
func (p *PagedKV) Store(pos int, x []float32) {
	w, hd := p.Width(), p.HeadDim
	n := len(x) / max(w, 1)
	if pos < 0 || pos+n > p.Rows() {
		panic(fmt.Sprintf("cpu.PagedKV: store rows [%d, %d) into %d rows", pos, pos+n, p.Rows()))
	}
	for r := range n {
		pg, off := (pos+r)/p.PageRows, (pos+r)%p.PageRows
		for h := range p.Heads {
			src, dst := x[r*w+h*hd:r*w+(h+1)*hd], (h*p.PageRows+off)*hd
			if p.BF16 != nil {
				roundBF16(p.BF16[pg][dst:dst+hd], src)
			} else {
				copy(p.F32[pg][dst:dst+hd], src)
			}
		}
	}
}

// Load reads rows [pos, pos+n) into dst [n, Width] (widened from bf16).
func (p *PagedKV) Load(dst []float32, pos, n int) {
	w, hd := p.Width(), p.HeadDim
	tmp := make([]float32, n*hd)
	for h := range p.Heads {
		p.gather(tmp, hd, pos, pos+n, h*hd, hd)
		for r := range n {
			copy(dst[r*w+h*hd:r*w+(h+1)*hd], tmp[r*hd:(r+1)*hd])
		}
	}
}

// gather copies columns [c0, c0+d) (inside one head) of rows [j0, j1) into
// the rows of dst [j1-j0, ld], widening bf16 exactly; columns [d, ld) of
// dst are zeroed. Where a page's rows of the head are whole and dst rows
// are as wide, a page is one contiguous copy.
func (p *PagedKV) gather(dst []float32, ld, j0, j1, c0, d int) {
	hd := p.HeadDim
	h, in := c0/hd, c0%hd
	whole := in == 0 && d == hd && ld == hd
	for j := j0; j < j1; {
		pg, off := j/p.PageRows, j%p.PageRows
		n := min(j1-j, p.PageRows-off)
		base := (h*p.PageRows+off)*hd + in
		o := dst[(j-j0)*ld:]
		if whole {
			if p.BF16 != nil {
				widenBF16(o[:n*hd], p.BF16[pg][base:base+n*hd])
			} else {
				copy(o[:n*hd], p.F32[pg][base:base+n*hd])
			}
		} else {
			for r := range n {
				src, or := base+r*hd, o[r*ld:(r+1)*ld]
				if p.BF16 != nil {
					widenBF16(or[:d], p.BF16[pg][src:src+d])
				} else {
					copy(or[:d], p.F32[pg][src:src+d])
				}
				clear(or[d:])
			}
		}
		j += n
	}
}

// check reports whether p holds nk keys of nKV heads of headDim floats.
func (p *PagedKV) check(nk, nKV, headDim int) error {
	width := nKV * headDim
	switch {
	case p.PageRows <= 0 || p.Heads <= 0 || p.Width() != width || p.HeadDim%headDim != 0:
		return fmt.Errorf("paged KV of %d rows per page, %d heads of %d; want %d heads of %d", p.PageRows, p.Heads, p.HeadDim, nKV, headDim)
	case (p.F32 == nil) == (p.BF16 == nil):
		return fmt.Errorf("paged KV needs exactly one of F32 and BF16 pages")
	case p.Rows() < nk:
		return fmt.Errorf("paged KV holds %d rows, %d keys", p.Rows(), nk)
	}
	for i := range max(len(p.F32), len(p.BF16)) {
		if l := p.pageLen(i); l < p.PageRows*width {
			return fmt.Errorf("paged KV page %d holds %d values, want %d", i, l, p.PageRows*width)
		}
	}
	return nil
}

func (p *PagedKV) pageLen(i int) int {
	if p.BF16 != nil {
		return len(p.BF16[i])
	}
	return len(p.F32[i])
}
