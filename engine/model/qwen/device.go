package qwen

import (
	"fmt"
	"math"
	"sync"

	"dlmstream/engine/kvcache"
	"dlmstream/engine/model"
	"dlmstream/kernels/cpu"
	"dlmstream/kernels/cuda"
)

// DeviceModel is a Model whose forward runs on a CUDA device: bf16 weights
// uploaded once, K and V in bf16 pages of device memory that an External
// kvcache pool keeps the books of (so the engine's scheduler, forks and
// prefix sharing work unchanged), cuBLAS for the projections and the LM
// head, the embedded kernels for everything else, and the decoder layers
// of a repeated batch shape replayed as a CUDA graph. It implements
// model.Model; the host model stays the owner of the checkpoint.
type DeviceModel struct {
	host *Model
	b    *cuda.Backend
	w    *deviceWeights

	mu     sync.Mutex // one forward at a time (the device queue is serial anyway)
	ws     deviceWorkspace
	graphs graphCache

	poolsMu sync.Mutex
	pools   map[*kvcache.Pool]*devicePool
}

// OnDevice uploads the model's weights to the device (as bf16, whatever
// the host holds: fp32 and fp16 weights are rounded, int8 dequantized)
// and returns the device model. M-RoPE models (Qwen2.5-VL) are refused:
// their rotary ids run on the CPU backend only, for now.
func (m *Model) OnDevice(b *cuda.Backend) (*DeviceModel, error) {
	if m.mrope != nil {
		return nil, fmt.Errorf("qwen: %s: M-RoPE (mrope_section) runs on the CPU backend only", m.cfg.ModelType)
	}
	if d := m.cfg.HeadDim; d > 256 || d%2 != 0 {
		return nil, fmt.Errorf("qwen: head_dim %d: the device attention takes even head dims up to 256", d)
	}
	w, err := uploadWeights(b, m)
	if err != nil {
		return nil, err
	}
	return &DeviceModel{host: m, b: b, w: w, pools: map[*kvcache.Pool]*devicePool{}}, nil
}

// Config returns the checkpoint's configuration.
func (d *DeviceModel) Config() *model.Config { return d.host.cfg }

// Traits returns the architecture's decoding traits.
func (d *DeviceModel) Traits() model.Traits { return d.host.traits }

// Host is the CPU model the weights came from.
func (d *DeviceModel) Host() *Model { return d.host }

// Weights are the host model's checkpoint files (see Model.Weights).
func (d *DeviceModel) Weights() *model.Weights { return d.host.weights }

// WeightBytes is what one forward reads (bf16 on the device).
func (d *DeviceModel) WeightBytes() int64 { return d.w.bytes }

// Close frees the device memory and closes the host model.
func (d *DeviceModel) Close() error {
	d.Free()
	return d.host.Close()
}

// Free releases the device memory only (the host model stays open, for
// callers that own it); the device model must not be used after.
func (d *DeviceModel) Free() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.graphs.clear()
	d.graphs.reap()
	d.ws.free()
	d.poolsMu.Lock()
	for p, dp := range d.pools {
		dp.free()
		delete(d.pools, p)
	}
	d.poolsMu.Unlock()
	d.w.free()
}

// NewPool returns a pool whose pages live on the device, in bf16, with a
// byte budget; 0 means a quarter of the device memory free now (the pages
// are allocated as they are first used, so a small request costs little).
func (d *DeviceModel) NewPool(budget int64) *kvcache.Pool {
	if budget <= 0 {
		free, _, err := d.b.C.MemInfo()
		budget = max(int64(free/4), 64<<20)
		if err != nil {
			budget = 1 << 30
		}
	}
	dp := &devicePool{}
	c := d.host.cfg
	p := kvcache.NewPoolWith(kvcache.Options{
		Layers: c.NumLayers, KVDim: c.KVDim(), KVHeads: c.NumKVHeads, DType: kvcache.BF16, Budget: budget,
		External: true, CopyPage: dp.queueCopy,
	})
	dp.pageBytes = p.PageBytes()
	d.poolsMu.Lock()
	d.pools[p] = dp
	d.poolsMu.Unlock()
	return p
}

// ReleasePool frees a pool's device pages; its sequences must be done.
// Pools the engine keeps live as long as the model; the short-lived ones
// (NewPool(0) for one forward) should be released by their user, or they
// hold device memory until the model closes.
func (d *DeviceModel) ReleasePool(p *kvcache.Pool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.releasePool(p)
	d.graphs.reap()
}

func (d *DeviceModel) poolOf(s *kvcache.Sequence) (*devicePool, error) {
	d.poolsMu.Lock()
	defer d.poolsMu.Unlock()
	dp := d.pools[s.Pool()]
	if dp == nil {
		return nil, fmt.Errorf("qwen: a KV cache that is not on this device (make it with the device model's NewPool)")
	}
	return dp, nil
}

// layout places layer li's K and V inside a device page, as kvcache lays
// a host page out: [layer][K, V][kv head][16][head_dim].
func (d *DeviceModel) layout(li int) cuda.PageLayout {
	c := d.host.cfg
	part := int64(c.KVDim()) * kvcache.DefaultPageRows
	return cuda.PageLayout{PageElems: int64(c.NumLayers) * 2 * part, OffK: int64(li) * 2 * part, OffV: int64(li)*2*part + part, BF16: true}
}

// devicePool is the device storage of one External pool's pages: one
// buffer indexed by page id, grown (and copied) as higher ids are used.
type devicePool struct {
	pageBytes int64
	buf       *cuda.Buffer
	pages     int // pages buf holds

	mu      sync.Mutex
	pending [][2]int // copy-on-write copies (dst, src) not yet queued
}

// queueCopy is the pool's CopyPage: it runs under the pool's lock, so it
// only records the copy; the next forward queues it before any write.
func (p *devicePool) queueCopy(dst, src int) {
	p.mu.Lock()
	p.pending = append(p.pending, [2]int{dst, src})
	p.mu.Unlock()
}

// prepare grows the storage to hold page ids < need and queues the
// pending copies; it reports whether the storage moved.
func (p *devicePool) prepare(q *cuda.Queue, need int) (moved bool, err error) {
	p.mu.Lock()
	pend := p.pending
	p.pending = nil
	p.mu.Unlock()
	for _, c := range pend {
		need = max(need, c[0]+1, c[1]+1)
	}
	if need > p.pages {
		n := max(need, 2*p.pages, 16)
		nb, err := q.Alloc(int64(n) * p.pageBytes)
		if err != nil {
			return false, fmt.Errorf("qwen: device KV pages: %w", err)
		}
		if p.buf != nil {
			if err := q.Copy(nb.Ptr, p.buf.Ptr, int64(p.pages)*p.pageBytes); err != nil {
				return false, err
			}
			if err := q.Free(p.buf); err != nil {
				return false, err
			}
		}
		p.buf, p.pages, moved = nb, n, true
	}
	for _, c := range pend {
		dst, src := p.buf.Ptr+uintptr(int64(c[0])*p.pageBytes), p.buf.Ptr+uintptr(int64(c[1])*p.pageBytes)
		if err := q.Copy(dst, src, p.pageBytes); err != nil {
			return moved, err
		}
	}
	return moved, nil
}

func (p *devicePool) free() {
	p.buf.Free()
	p.buf, p.pages = nil, 0
}

// scale is attention's 1/sqrt(head_dim), as the CPU kernels use it.
func scale(d int) float32 { return float32(1 / math.Sqrt(float64(d))) }

var _ model.Model = (*DeviceModel)(nil)

// cpu's mask kinds are the device's numbering (struct AttnSeq in
// attention.cu: 0 causal, 1 bidirectional, 2 block-causal).
var (
	_ = [1]struct{}{}[cpu.Causal]
	_ = [1]struct{}{}[cpu.Bidirectional-1]
	_ = [1]struct{}{}[cpu.BlockCausal-2]
)

// Device is OnDevice for callers that see models as model.Model (the
// engine's backend choice).
func (m *Model) Device(b *cuda.Backend) (model.Model, error) { return m.OnDevice(b) }
