package kerneltest

import (
	"fmt"
	"math"
	"sync"

	"dlmstream/kernels/cpu"
)

// CPU is the reference Backend: the kernels of kernels/cpu behind the
// Backend interface. Every method checks its shapes first and returns an
// error naming what is wrong, so bad arguments never reach the kernels'
// panics. The zero value is ready to use and safe for concurrent use.
type CPU struct{}

var _ Backend = CPU{}

// Name is "cpu"; Run compares any other backend with CPU{} too.
func (CPU) Name() string { return "cpu" }

// MatMulBF16 is cpu.MatMulBF16: out [m, n] = x [m, k] · w [n, k]ᵀ.
func (CPU) MatMulBF16(out, x []float32, w []uint16, m, n, k int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("MatMulBF16: negative shape m=%d n=%d k=%d", m, n, k)
	}
	if err := needLens("MatMulBF16", span{"out", len(out), m * n}, span{"x", len(x), m * k}, span{"w", len(w), n * k}); err != nil {
		return err
	}
	cpu.MatMulBF16(out, x, w, m, n, k)
	return nil
}

// RMSNorm is cpu.RMSNorm: x, out [rows, dim]; w [dim].
func (CPU) RMSNorm(out, x, w []float32, rows, dim int, eps float32) error {
	if rows < 0 || dim < 0 {
		return fmt.Errorf("RMSNorm: negative shape rows=%d dim=%d", rows, dim)
	}
	if err := needLens("RMSNorm", span{"out", len(out), rows * dim}, span{"x", len(x), rows * dim}, span{"w", len(w), dim}); err != nil {
		return err
	}
	cpu.RMSNorm(out, x, w, rows, dim, eps)
	return nil
}

// ropeKey names one cpu.RoPE: its cos/sin tables depend on both.
type ropeKey struct {
	headDim int
	theta   float64
}

// ropes caches a *cpu.RoPE per ropeKey, so CPU (an empty struct) does not
// rebuild a table up to the largest position on every call.
var ropes sync.Map

// RoPE is cpu.RoPE.Apply: x [rows, heads, headDim] rotated in place, row r
// at position pos[r] >= 0; headDim even.
func (CPU) RoPE(x []float32, rows, heads, headDim int, pos []int, theta float64) error {
	switch {
	case rows < 0 || heads < 0:
		return fmt.Errorf("RoPE: negative shape rows=%d heads=%d", rows, heads)
	case headDim <= 0 || headDim%2 != 0:
		return fmt.Errorf("RoPE: headDim %d must be even and > 0", headDim)
	case !(theta > 0) || math.IsInf(theta, 1):
		return fmt.Errorf("RoPE: theta %g must be finite and > 0", theta)
	}
	if err := needLens("RoPE", span{"x", len(x), rows * heads * headDim}, span{"pos", len(pos), rows}); err != nil {
		return err
	}
	for r, p := range pos[:rows] {
		if p < 0 {
			return fmt.Errorf("RoPE: pos[%d] = %d is negative", r, p)
		}
	}
	key := ropeKey{headDim, theta}
	r, ok := ropes.Load(key)
	if !ok {
		r, _ = ropes.LoadOrStore(key, cpu.NewRoPE(headDim, theta))
	}
	r.(*cpu.RoPE).Apply(x, rows, heads, pos)
	return nil
}

// SiLUMul is cpu.SiLUMul: gate[i] = silu(gate[i]) · up[i]; len(up) >= len(gate).
func (CPU) SiLUMul(gate, up []float32) error {
	if err := needLens("SiLUMul", span{"up", len(up), len(gate)}); err != nil {
		return err
	}
	cpu.SiLUMul(gate, up)
	return nil
}

// Add is cpu.Add: dst[i] += src[i]; len(src) >= len(dst).
func (CPU) Add(dst, src []float32) error {
	if err := needLens("Add", span{"src", len(src), len(dst)}); err != nil {
		return err
	}
	cpu.Add(dst, src)
	return nil
}

// AddBias is cpu.AddBias: x [rows, len(b)], x[r, :] += b.
func (CPU) AddBias(x, b []float32, rows int) error {
	if rows < 0 {
		return fmt.Errorf("AddBias: negative rows %d", rows)
	}
	if err := needLens("AddBias", span{"x", len(x), rows * len(b)}); err != nil {
		return err
	}
	cpu.AddBias(x, b, rows)
	return nil
}

// Embed widens table rows with cpu.BF16ToF32: table [vocab, dim], out
// [len(ids), dim]; every id in [0, vocab).
func (CPU) Embed(out []float32, table []uint16, ids []int32, dim int) error {
	if dim <= 0 {
		return fmt.Errorf("Embed: dim %d must be > 0", dim)
	}
	if err := needLens("Embed", span{"out", len(out), len(ids) * dim}); err != nil {
		return err
	}
	vocab := len(table) / dim
	for r, id := range ids {
		if id < 0 || int(id) >= vocab {
			return fmt.Errorf("Embed: ids[%d] = %d outside the table's %d rows", r, id, vocab)
		}
	}
	for r, id := range ids {
		cpu.BF16ToF32(out[r*dim:(r+1)*dim], table[int(id)*dim:(int(id)+1)*dim])
	}
	return nil
}

// Attention is cpu.AttentionBatch with one sequence on the pages kv[0]
// (keys) and kv[1] (values).
func (CPU) Attention(out, q []float32, kv *[2]cpu.PagedKV, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) error {
	switch {
	case nq < 0 || qPos0 < 0 || nk < 0:
		return fmt.Errorf("Attention: negative nq=%d qPos0=%d nk=%d", nq, qPos0, nk)
	case heads <= 0 || kvHeads <= 0 || headDim <= 0:
		return fmt.Errorf("Attention: heads=%d kvHeads=%d headDim=%d must be > 0", heads, kvHeads, headDim)
	case heads%kvHeads != 0:
		return fmt.Errorf("Attention: kvHeads %d does not divide heads %d", kvHeads, heads)
	case mask.Kind == cpu.BlockCausal && mask.Block <= 0:
		return fmt.Errorf("Attention: %v needs Block > 0", mask)
	case mask.Kind > cpu.BlockCausal:
		return fmt.Errorf("Attention: unknown mask %v", mask)
	case kv == nil:
		return fmt.Errorf("Attention: nil kv")
	}
	if err := needLens("Attention", span{"out", len(out), nq * heads * headDim}, span{"q", len(q), nq * heads * headDim}); err != nil {
		return err
	}
	for i, name := range [2]string{"keys", "values"} {
		if err := checkPages(&kv[i], nk, kvHeads, headDim); err != nil {
			return fmt.Errorf("Attention: %s: %w", name, err)
		}
	}
	cpu.AttentionBatch([]cpu.AttentionSeq{{
		Out: out, Q: q, KP: &kv[0], VP: &kv[1], NQ: nq, QPos0: qPos0, NK: nk, Mask: mask,
	}}, heads, kvHeads, headDim)
	return nil
}

// checkPages reports whether p holds nk rows of kvHeads × headDim floats,
// as cpu.AttentionBatch requires (its own check is unexported).
func checkPages(p *cpu.PagedKV, nk, kvHeads, headDim int) error {
	width := kvHeads * headDim
	switch {
	case p.PageRows <= 0 || p.Heads <= 0 || p.HeadDim <= 0 || p.Width() != width || p.HeadDim%headDim != 0:
		return fmt.Errorf("pages of %d rows, %d heads of %d; want %d heads of %d (or one of %d)",
			p.PageRows, p.Heads, p.HeadDim, kvHeads, headDim, width)
	case (p.F32 == nil) == (p.BF16 == nil):
		return fmt.Errorf("need exactly one of F32 and BF16 pages")
	case p.Rows() < nk:
		return fmt.Errorf("pages hold %d rows, need %d keys", p.Rows(), nk)
	}
	for i := range max(len(p.F32), len(p.BF16)) {
		n := 0
		if p.BF16 != nil {
			n = len(p.BF16[i])
		} else {
			n = len(p.F32[i])
		}
		if n < p.PageRows*width {
			return fmt.Errorf("page %d holds %d values, need %d", i, n, p.PageRows*width)
		}
	}
	return nil
}

// RowStats is engine/decode's Sampler.Pick at temperature 0 on each row of
// logits [rows, vocab] (kernels may not import the engine, so it is
// written out here): first argmax, Conf = 1/Z and Entropy = log Z − Σ e^d·d
// / Z with d = logit − max in fp32 and the sums in float64. -Inf entries
// are left out of the choice and the sums (e^-Inf adds nothing, and
// 0 · -Inf in Σ e^d·d would be NaN); a row of only -Inf is an error.
func (CPU) RowStats(stats []RowStat, logits []float32, rows, vocab int) error {
	if rows < 0 || vocab < 0 || (rows > 0 && vocab == 0) {
		return fmt.Errorf("RowStats: bad shape rows=%d vocab=%d", rows, vocab)
	}
	if err := needLens("RowStats", span{"stats", len(stats), rows}, span{"logits", len(logits), rows * vocab}); err != nil {
		return err
	}
	for r := range rows {
		s, ok := rowStat(logits[r*vocab : (r+1)*vocab])
		if !ok {
			return fmt.Errorf("RowStats: row %d has no finite logit", r)
		}
		stats[r] = s
	}
	return nil
}

// rowStat summarises one row; ok is false when every entry is -Inf.
func rowStat(l []float32) (s RowStat, ok bool) {
	negInf := float32(math.Inf(-1))
	i1, i2 := -1, -1 // top two, first index on ties
	for i, v := range l {
		switch {
		case v == negInf:
		case i1 < 0 || v > l[i1]:
			i1, i2 = i, i1
		case i2 < 0 || v > l[i2]:
			i2 = i
		}
	}
	if i1 < 0 {
		return RowStat{}, false
	}
	mx := l[i1]
	var z, ez float64
	for _, v := range l {
		if v == negInf {
			continue
		}
		d := v - mx
		e := math.Exp(float64(d))
		z += e
		ez += e * float64(d)
	}
	s = RowStat{Token: int32(i1), Conf: float32(1 / z), Entropy: float32(math.Log(z) - ez/z)}
	if i2 >= 0 {
		s.Margin = float32((1 - math.Exp(float64(l[i2]-mx))) / z)
		s.LogitMargin = mx - l[i2]
	} else {
		s.Margin, s.LogitMargin = s.Conf, float32(math.Inf(1))
	}
	return s, true
}

// span is one slice argument: its length and the length its shape needs.
type span struct {
	name       string
	have, need int
}

// needLens returns an error naming the first slice shorter than its shape needs.
func needLens(op string, spans ...span) error {
	for _, s := range spans {
		if s.have < s.need {
			return fmt.Errorf("%s: len(%s) = %d, shape needs %d", op, s.name, s.have, s.need)
		}
	}
	return nil
}
