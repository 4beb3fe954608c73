package cuda

import (
	"testing"

	"dlmstream/kernels/cpu"
	"dlmstream/kernels/kerneltest"
)

// suiteBackend adapts the device's host-slice kernels to the conformance
// suite's Backend.
type suiteBackend struct{ b *Backend }

func (s suiteBackend) Name() string { return "cuda" }
func (s suiteBackend) MatMulBF16(out, x []float32, w []uint16, m, n, k int) error {
	return s.b.MatMulBF16Host(out, x, w, m, n, k)
}
func (s suiteBackend) RMSNorm(out, x, w []float32, rows, dim int, eps float32) error {
	return s.b.RMSNormHost(out, x, w, rows, dim, eps)
}
func (s suiteBackend) RoPE(x []float32, rows, heads, headDim int, pos []int, theta float64) error {
	return s.b.RoPEHost(x, rows, heads, headDim, pos, theta)
}
func (s suiteBackend) SiLUMul(gate, up []float32) error { return s.b.SiLUMulHost(gate, up) }
func (s suiteBackend) Add(dst, src []float32) error     { return s.b.AddHost(dst, src) }
func (s suiteBackend) AddBias(x, bias []float32, rows int) error {
	return s.b.AddBiasHost(x, bias, rows)
}
func (s suiteBackend) Embed(out []float32, table []uint16, ids []int32, dim int) error {
	return s.b.EmbedHost(out, table, ids, dim)
}
func (s suiteBackend) Attention(out, q []float32, kv *[2]cpu.PagedKV, nq, qPos0, nk, heads, kvHeads, headDim int, mask cpu.Mask) error {
	return s.b.AttentionHost(out, q, kv, nq, qPos0, nk, heads, kvHeads, headDim, mask)
}
func (s suiteBackend) RowStats(stats []kerneltest.RowStat, logits []float32, rows, vocab int) error {
	dev := make([]RowStat, rows)
	if err := s.b.RowStatsHost(dev, logits, rows, vocab); err != nil {
		return err
	}
	for i, d := range dev {
		stats[i] = kerneltest.RowStat{Token: d.Token, Conf: d.Conf, Margin: d.Margin, LogitMargin: d.LogitMargin, Entropy: d.Entropy}
	}
	return nil
}

// deviceOrSkip opens device 0, skipping where there is none.
func deviceOrSkip(t *testing.T) *Backend {
	t.Helper()
	if _, err := Devices(); err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	b, err := NewBackend(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	t.Logf("%v", b)
	return b
}

// TestConformance runs the kernel conformance suite on the device, against
// the CPU kernels and the float64 references.
func TestConformance(t *testing.T) {
	kerneltest.Run(t, suiteBackend{deviceOrSkip(t)})
}
