package cuda

import (
	"fmt"
	"math"

	"dlmstream/kernels/cpu"
)

// The host-slice forms of the kernels: each uploads its inputs, runs one
// kernel and reads the result back. They are what the conformance suite
// (kernels/kerneltest) compares with the CPU kernels; the engine keeps
// its tensors on the device and queues the launchers instead.

// temps allocates device buffers for host slices and frees them after.
type temps struct {
	q    *Queue
	bufs []*Buffer
}

func (t *temps) up(s any) (uintptr, error) {
	_, n, err := sliceBytes(s)
	if err != nil {
		return 0, err
	}
	b, err := t.q.Alloc(max(n, 4))
	if err != nil {
		return 0, err
	}
	t.bufs = append(t.bufs, b)
	return b.Ptr, t.q.Write(b.Ptr, s)
}

func (t *temps) free() {
	t.q.Sync()
	for _, b := range t.bufs {
		b.free()
	}
}

// host runs f with a temps on the context's queue, then reads out[i]
// from dev[i] for the outputs f named.
func (b *Backend) host(f func(t *temps) (outs []any, devs []uintptr, err error)) error {
	return b.C.Run(func(q *Queue) error {
		t := &temps{q: q}
		defer t.free()
		outs, devs, err := f(t)
		if err != nil {
			return err
		}
		for i := range outs {
			if err := q.Read(outs[i], devs[i]); err != nil {
				return err
			}
		}
		return q.Sync()
	})
}

// MatMulBF16Host: out[m, n] = x[m, k] · w[n, k]ᵀ, x rounded to bf16 on
// the device (as the engine's device path does), fp32 accumulation.
func (b *Backend) MatMulBF16Host(out, x []float32, w []uint16, m, n, k int) error {
	if m <= 0 || n <= 0 || k <= 0 || len(x) < m*k || len(w) < n*k || len(out) < m*n {
		return fmt.Errorf("cuda: matmul m=%d n=%d k=%d with %d, %d, %d values", m, n, k, len(x), len(w), len(out))
	}
	return b.host(func(t *temps) ([]any, []uintptr, error) {
		dx, err := t.up(x[:m*k])
		if err != nil {
			return nil, nil, err
		}
		xb, err := t.up(make([]uint16, m*k))
		if err != nil {
			return nil, nil, err
		}
		dw, err := t.up(w[:n*k])
		if err != nil {
			return nil, nil, err
		}
		do, err := t.up(out[:m*n])
		if err != nil {
			return nil, nil, err
		}
		if err := b.ToBF16(t.q, xb, dx, int64(m*k)); err != nil {
			return nil, nil, err
		}
		return []any{out[:m*n]}, []uintptr{do}, t.q.LinearBF16(b.BLAS, do, xb, dw, m, n, k, false)
	})
}

// RMSNormHost is RMSNorm on host slices.
func (b *Backend) RMSNormHost(out, x, w []float32, rows, dim int, eps float32) error {
	if rows <= 0 || dim <= 0 || len(x) < rows*dim || len(out) < rows*dim || len(w) < dim {
		return fmt.Errorf("cuda: rmsnorm rows=%d dim=%d with %d, %d, %d values", rows, dim, len(out), len(x), len(w))
	}
	return b.host(func(t *temps) ([]any, []uintptr, error) {
		dx, err := t.up(x[:rows*dim])
		if err != nil {
			return nil, nil, err
		}
		dw, err := t.up(w[:dim])
		if err != nil {
			return nil, nil, err
		}
		do, err := t.up(out[:rows*dim])
		if err != nil {
			return nil, nil, err
		}
		return []any{out[:rows*dim]}, []uintptr{do}, b.RMSNorm(t.q, do, dx, dw, rows, dim, eps)
	})
}

// RoPEHost is RoPE on host slices with cpu.NewRoPE's inverse frequencies.
func (b *Backend) RoPEHost(x []float32, rows, heads, headDim int, pos []int, theta float64) error {
	if headDim <= 0 || headDim%2 != 0 || rows <= 0 || heads <= 0 || len(pos) < rows || len(x) < rows*heads*headDim {
		return fmt.Errorf("cuda: rope rows=%d heads=%d head_dim=%d (even) with %d positions and %d values", rows, heads, headDim, len(pos), len(x))
	}
	inv := cpu.NewRoPE(headDim, theta).InvFreq()
	p32 := make([]int32, rows)
	for i := range p32 {
		if pos[i] < 0 || pos[i] > math.MaxInt32 {
			return fmt.Errorf("cuda: rope position %d", pos[i])
		}
		p32[i] = int32(pos[i])
	}
	n := rows * heads * headDim
	return b.host(func(t *temps) ([]any, []uintptr, error) {
		dx, err := t.up(x[:n])
		if err != nil {
			return nil, nil, err
		}
		dp, err := t.up(p32)
		if err != nil {
			return nil, nil, err
		}
		di, err := t.up(inv)
		if err != nil {
			return nil, nil, err
		}
		return []any{x[:n]}, []uintptr{dx}, b.RoPE(t.q, dx, dp, di, rows, heads, headDim)
	})
}

// binary runs an in-place kernel dst = f(dst, src) on host slices.
func (b *Backend) binary(dst, src []float32, launch func(q *Queue, d, s uintptr) error) error {
	return b.host(func(t *temps) ([]any, []uintptr, error) {
		dd, err := t.up(dst)
		if err != nil {
			return nil, nil, err
		}
		ds, err := t.up(src)
		if err != nil {
			return nil, nil, err
		}
		return []any{dst}, []uintptr{dd}, launch(t.q, dd, ds)
	})
}

// SiLUMulHost is SiLUMul on host slices.
func (b *Backend) SiLUMulHost(gate, up []float32) error {
	if len(up) < len(gate) {
		return fmt.Errorf("cuda: silu_mul of %d gates with %d ups", len(gate), len(up))
	}
	return b.binary(gate, up[:len(gate)], func(q *Queue, d, s uintptr) error { return b.SiLUMul(q, d, s, int64(len(gate))) })
}

// AddHost is Add on host slices.
func (b *Backend) AddHost(dst, src []float32) error {
	if len(src) < len(dst) {
		return fmt.Errorf("cuda: add of %d values to %d", len(src), len(dst))
	}
	return b.binary(dst, src[:len(dst)], func(q *Queue, d, s uintptr) error { return b.Add(q, d, s, int64(len(dst))) })
}

// AddBiasHost is AddBias on host slices.
func (b *Backend) AddBiasHost(x, bias []float32, rows int) error {
	n := len(bias)
	if rows*n > len(x) {
		return fmt.Errorf("cuda: bias of %d over %d rows of %d values", n, rows, len(x))
	}
	return b.binary(x[:rows*n], bias, func(q *Queue, d, s uintptr) error { return b.AddBias(q, d, s, rows, n) })
}

// EmbedHost gathers bf16 rows on the device.
func (b *Backend) EmbedHost(out []float32, table []uint16, ids []int32, dim int) error {
	if dim <= 0 || len(out) < len(ids)*dim {
		return fmt.Errorf("cuda: embed of %d ids × %d into %d values", len(ids), dim, len(out))
	}
	vocab := len(table) / dim
	for i, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("cuda: embed id %d at %d outside [0, %d)", id, i, vocab)
		}
	}
	return b.host(func(t *temps) ([]any, []uintptr, error) {
		dt, err := t.up(table)
		if err != nil {
			return nil, nil, err
		}
		di, err := t.up(ids)
		if err != nil {
			return nil, nil, err
		}
		do, err := t.up(out[:len(ids)*dim])
		if err != nil {
			return nil, nil, err
		}
		return []any{out[:len(ids)*dim]}, []uintptr{do}, b.Embed(t.q, do, dt, di, len(ids), dim)
	})
}

// RowStatsHost summarises logits [rows, vocab] on the device.
func (b *Backend) RowStatsHost(stats []RowStat, logits []float32, rows, vocab int) error {
	if rows <= 0 || vocab <= 0 || len(stats) < rows || len(logits) < rows*vocab {
		return fmt.Errorf("cuda: row stats of %d rows × %d with %d stats and %d logits", rows, vocab, len(stats), len(logits))
	}
	err := b.host(func(t *temps) ([]any, []uintptr, error) {
		dl, err := t.up(logits[:rows*vocab])
		if err != nil {
			return nil, nil, err
		}
		ds, err := t.up(stats[:rows])
		if err != nil {
			return nil, nil, err
		}
		return []any{stats[:rows]}, []uintptr{ds}, b.RowStats(t.q, ds, dl, rows, vocab)
	})
	if err != nil {
		return err
	}
	for i, st := range stats[:rows] {
		if st.Token < 0 {
			return fmt.Errorf("cuda: row stats: row %d has no finite logit", i)
		}
	}
	return nil
}

// AttentionHost runs paged attention for one sequence whose K and V are
// host pages (any cpu.PagedKV layout): its first nk rows are laid out in
// one device pool of 16-row head-major pages, as the engine's device cache
// holds them (bf16 pages stay bf16: widening and rounding back is exact).
func (b *Backend) AttentionHost(out, q []float32, kv *[2]cpu.PagedKV, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) error {
	switch {
	case kv == nil:
		return fmt.Errorf("cuda: attention without K/V pages")
	case nq < 0 || nk < 0 || qPos0 < 0 || heads <= 0 || kvHeads <= 0 || heads%kvHeads != 0:
		return fmt.Errorf("cuda: attention nq=%d nk=%d qPos0=%d with %d heads over %d kv heads", nq, nk, qPos0, heads, kvHeads)
	case headDim <= 0 || headDim > 256:
		return fmt.Errorf("cuda: attention head_dim %d (1..256)", headDim)
	case mask.Kind == cpu.BlockCausal && mask.Block <= 0:
		return fmt.Errorf("cuda: block-causal mask with block %d", mask.Block)
	case mask.Kind > cpu.BlockCausal:
		return fmt.Errorf("cuda: unknown mask kind %d", mask.Kind)
	case len(q) < nq*heads*headDim || len(out) < nq*heads*headDim:
		return fmt.Errorf("cuda: attention q/out hold %d/%d floats, need %d", len(q), len(out), nq*heads*headDim)
	}
	kp, vp := &kv[0], &kv[1]
	width := kvHeads * headDim
	if kp.Width() != width || vp.Width() != width || nk > kp.Rows() || nk > vp.Rows() {
		return fmt.Errorf("cuda: %d keys of width %d from pages of width %d/%d holding %d/%d rows", nk, width, kp.Width(), vp.Width(), kp.Rows(), vp.Rows())
	}
	bf := kp.BF16 != nil
	npages := (nk + 15) / 16
	part := int64(kvHeads * 16 * headDim)
	l := PageLayout{PageElems: 2 * part, OffK: 0, OffV: part, BF16: bf}
	rows := [2][]float32{make([]float32, nk*width), make([]float32, nk*width)}
	kp.Load(rows[0], 0, nk)
	vp.Load(rows[1], 0, nk)
	f32 := make([]float32, int64(npages)*l.PageElems)
	for j := range nk { // row j → page j/16, row j%16 of each head
		base := int64(j/16) * l.PageElems
		for side, off := range []int64{l.OffK, l.OffV} {
			for h := range kvHeads {
				dst := base + off + int64((h*16+j%16)*headDim)
				copy(f32[dst:dst+int64(headDim)], rows[side][j*width+h*headDim:j*width+(h+1)*headDim])
			}
		}
	}
	var pool any = f32
	if bf {
		p := make([]uint16, len(f32))
		cpu.F32ToBF16(p, f32)
		pool = p
	}
	table := make([]int32, npages)
	for i := range table {
		table[i] = int32(i)
	}
	seqs := []AttnSeq{{QRow0: 0, NQ: int32(nq), QPos0: int32(qPos0), NK: int32(nk), MaskKind: int32(mask.Kind), MaskBlock: int32(max(mask.Block, 1))}}
	n := nq * heads * headDim
	if n == 0 {
		return nil
	}
	return b.host(func(t *temps) ([]any, []uintptr, error) {
		var ptr [5]uintptr
		for i, s := range []any{pool, table, seqs, q[:n], out[:n]} {
			var err error
			if ptr[i], err = t.up(s); err != nil {
				return nil, nil, err
			}
		}
		err := b.Attention(t.q, ptr[4], ptr[3], ptr[0], ptr[1], ptr[2], 1, nq, l, heads, kvHeads, headDim, float32(1/math.Sqrt(float64(headDim))))
		return []any{out[:n]}, []uintptr{ptr[4]}, err
	})
}
