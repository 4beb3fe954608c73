package kerneltest

import (
	"math"
	"slices"

	"dlmstream/kernels/cpu"
)

// broken is CPU with the op named op wrong, as a real kernel could be;
// every other op, and the argument checks of all of them, are CPU's.
// Each broken method runs CPU's first (so bad shapes still return its
// error) and then spoils the result.
type broken struct {
	CPU
	op string
}

// Name is not "cpu", so the suite compares broken with CPU{} as well.
func (b broken) Name() string { return "broken-" + b.op }

// MatMulBF16 drops the last term of every dot product (a loop bound off by one).
func (b broken) MatMulBF16(out, x []float32, w []uint16, m, n, k int) error {
	if err := b.CPU.MatMulBF16(out, x, w, m, n, k); err != nil || b.op != "MatMulBF16" {
		return err
	}
	xs := slices.Clone(x[:m*k])
	for i := range m {
		xs[i*k+k-1] = 0
	}
	return b.CPU.MatMulBF16(out, xs, w, m, n, k)
}

// RMSNorm takes the mean of squares over dim+1.
func (b broken) RMSNorm(out, x, w []float32, rows, dim int, eps float32) error {
	if err := b.CPU.RMSNorm(out, x, w, rows, dim, eps); err != nil || b.op != "RMSNorm" {
		return err
	}
	for r := range rows {
		var ss float64
		for _, v := range x[r*dim : (r+1)*dim] {
			ss += float64(v) * float64(v)
		}
		s := float32(1 / math.Sqrt(ss/float64(dim+1)+float64(eps)))
		for i := range dim {
			out[r*dim+i] = w[i] * x[r*dim+i] * s
		}
	}
	return nil
}

// RoPE computes the angle pos·invFreq in float64, not float32.
func (b broken) RoPE(x []float32, rows, heads, headDim int, pos []int, theta float64) error {
	orig := slices.Clone(x)
	if err := b.CPU.RoPE(x, rows, heads, headDim, pos, theta); err != nil || b.op != "RoPE" {
		return err
	}
	half := headDim / 2
	for i := range half {
		inv := 1 / float32(math.Pow(float64(float32(theta)), float64(float32(2*i)/float32(headDim))))
		for r := range rows {
			a := float64(pos[r]) * float64(inv)
			c, s := float32(math.Cos(a)), float32(math.Sin(a))
			for h := range heads {
				o := (r*heads + h) * headDim
				x0, x1 := orig[o+i], orig[o+half+i]
				x[o+i], x[o+half+i] = x0*c-x1*s, x1*c+x0*s
			}
		}
	}
	return nil
}

// SiLUMul is off by 1e-4 relative (ten tolerances) in its middle element.
func (b broken) SiLUMul(gate, up []float32) error {
	if err := b.CPU.SiLUMul(gate, up); err != nil || b.op != "SiLUMul" || len(gate) == 0 {
		return err
	}
	gate[len(gate)/2] *= 1 + 1e-4
	return nil
}

// Add skips the last element.
func (b broken) Add(dst, src []float32) error {
	if err := b.CPU.Add(dst, src); err != nil || b.op != "Add" || len(dst) == 0 {
		return err
	}
	dst[len(dst)-1] -= src[len(dst)-1]
	return nil
}

// AddBias skips the last row.
func (b broken) AddBias(x, bias []float32, rows int) error {
	if err := b.CPU.AddBias(x, bias, rows); err != nil || b.op != "AddBias" || rows == 0 {
		return err
	}
	last := x[(rows-1)*len(bias) : rows*len(bias)]
	for i, v := range bias {
		last[i] -= v
	}
	return nil
}

// Embed reads row id+1 (mod vocab).
func (b broken) Embed(out []float32, table []uint16, ids []int32, dim int) error {
	if err := b.CPU.Embed(out, table, ids, dim); err != nil || b.op != "Embed" {
		return err
	}
	vocab := len(table) / dim
	for r, id := range ids {
		j := (int(id) + 1) % vocab
		cpu.BF16ToF32(out[r*dim:(r+1)*dim], table[j*dim:(j+1)*dim])
	}
	return nil
}

// Attention scales the scores by 1.001/√headDim.
func (b broken) Attention(out, q []float32, kv *[2]cpu.PagedKV, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) error {
	if b.op != "Attention" {
		return b.CPU.Attention(out, q, kv, nq, qPos0, nk, heads, kvHeads, headDim, mask)
	}
	qs := slices.Clone(q)
	for i := range qs {
		qs[i] *= 1.001
	}
	return b.CPU.Attention(out, qs, kv, nq, qPos0, nk, heads, kvHeads, headDim, mask)
}

// RowStats reports the entropy in bits.
func (b broken) RowStats(stats []RowStat, logits []float32, rows, vocab int) error {
	if err := b.CPU.RowStats(stats, logits, rows, vocab); err != nil || b.op != "RowStats" {
		return err
	}
	for i := range rows {
		stats[i].Entropy /= math.Ln2
	}
	return nil
}

// panicky is CPU whose Attention panics, as a kernel indexing out of range would.
type panicky struct{ CPU }

func (panicky) Name() string { return "panicky" }

func (panicky) Attention(out, q []float32, kv *[2]cpu.PagedKV, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) error {
	panic("index out of range")
}
