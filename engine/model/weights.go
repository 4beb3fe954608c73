package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"unsafe"

	"dlmstream/engine/model/safetensors"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// Weights is the set of safetensors files of one checkpoint directory.
type Weights struct {
	Dir    string
	files  []*safetensors.File
	byName map[string]*safetensors.File
	opts   LoadOptions
	total  int64 // bytes of all tensors, for progress
	done   int64
	// rename maps a name as a model asks for it to the stored name (views of
	// composite checkpoints); nil is the identity.
	rename func(string) string
	view   bool     // a view does not own the files
	owner  *Weights // set on a view that closes its owner
	// arena holds the load-time conversions (bf16, int8, f32 copies) off
	// the Go heap; the root's serves its views.
	arena Arena
}

// Root is the Weights that opened the files (itself unless a view): the
// encoders of a composite checkpoint read their tensors through it.
func (w *Weights) Root() *Weights {
	if w.owner != nil {
		return w.owner
	}
	return w
}

// OpenWeights opens dir/model.safetensors, or the shards listed in
// dir/model.safetensors.index.json. It refuses pickle checkpoints.
func OpenWeights(dir string) (*Weights, error) { return OpenWeightsWith(dir, LoadOptions{}) }

// OpenWeightsWith is OpenWeights whose matrices follow opts (WeightType,
// Exact, Progress), as Load's do.
func OpenWeightsWith(dir string, opts LoadOptions) (*Weights, error) {
	w := &Weights{Dir: dir, byName: map[string]*safetensors.File{}, opts: opts}
	index := filepath.Join(dir, "model.safetensors.index.json")
	single := filepath.Join(dir, "model.safetensors")
	switch {
	case exists(index):
		if err := w.openIndex(index); err != nil {
			w.Close()
			return nil, err
		}
	case exists(single):
		f, err := safetensors.Open(single)
		if err != nil {
			return nil, err
		}
		w.add(f)
	default:
		for _, p := range []string{"pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "model.ckpt"} {
			if exists(filepath.Join(dir, p)) {
				return nil, fmt.Errorf("%s: only safetensors checkpoints are loaded; found pickle file %s (convert it with safetensors' convert script)", dir, p)
			}
		}
		return nil, fmt.Errorf("%s: no model.safetensors or model.safetensors.index.json", dir)
	}
	for _, f := range w.files {
		for _, n := range f.Names() {
			w.total += f.Info(n).End - f.Info(n).Begin
		}
	}
	return w, nil
}

// openIndex opens the shards of a model.safetensors.index.json. Every shard
// name is checked before any file is opened: it must be a plain file name in
// the checkpoint directory, so a hostile index cannot make the loader open a
// file elsewhere. Each tensor must be in the shard the index names.
func (w *Weights) openIndex(index string) error {
	b, err := readBounded(index, MaxIndexBytes)
	if err != nil {
		return err
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return fmt.Errorf("%s: %v", index, err)
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("%s: empty weight_map", index)
	}
	names := make([]string, 0, len(idx.WeightMap))
	for n := range idx.WeightMap {
		names = append(names, n)
	}
	sort.Strings(names)
	var shardNames []string
	shards := map[string]*safetensors.File{}
	for _, name := range names {
		shard := idx.WeightMap[name]
		if err := checkShardName(shard); err != nil {
			return fmt.Errorf("%s: tensor %q: %v", index, name, err)
		}
		if _, ok := shards[shard]; !ok {
			shards[shard] = nil
			shardNames = append(shardNames, shard)
		}
	}
	for _, shard := range shardNames { // in the order of their first tensor
		f, err := safetensors.Open(filepath.Join(w.Dir, shard))
		if err != nil {
			return fmt.Errorf("%s: shard %s: %w", index, shard, err)
		}
		shards[shard] = f
		w.files = append(w.files, f)
	}
	for _, name := range names {
		shard := idx.WeightMap[name]
		f := shards[shard]
		if f.Info(name) == nil {
			return fmt.Errorf("%s: tensor %q is mapped to %s, which does not contain it%s", index, name, shard, foundIn(name, w.files))
		}
		w.byName[name] = f
	}
	return nil
}

// checkShardName refuses a shard name that is not a plain file name inside
// the checkpoint directory: empty, ".", "..", absolute, or holding a path
// separator (either kind, on any OS) or a NUL byte. A shard may still be a
// symbolic link, as the Hugging Face cache's snapshots are.
func checkShardName(shard string) error {
	if shard == "." || strings.ContainsAny(shard, "/\\\x00") || !filepath.IsLocal(shard) { // IsLocal refuses "", ".." and absolute paths
		return fmt.Errorf("shard name %q must be a plain file name inside the checkpoint directory (no path separators, \"..\" or absolute paths)", shard)
	}
	return nil
}

// foundIn names the shard that does hold a tensor, for the error of an index
// that maps it elsewhere.
func foundIn(name string, files []*safetensors.File) string {
	for _, f := range files {
		if f.Info(name) != nil {
			return fmt.Sprintf(" (it is in %s)", filepath.Base(f.Path))
		}
	}
	return " (no shard holds it)"
}

func (w *Weights) add(f *safetensors.File) {
	w.files = append(w.files, f)
	for _, n := range f.Names() {
		w.byName[n] = f
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Has reports whether the checkpoint stores a tensor.
func (w *Weights) Has(name string) bool { return w.byName[w.stored(name)] != nil }

func (w *Weights) stored(name string) string {
	if w.rename == nil {
		return name
	}
	return w.rename(name)
}

// Shape is a stored tensor's shape (nil, false when absent).
func (w *Weights) Shape(name string) ([]int, bool) {
	f := w.byName[w.stored(name)]
	if f == nil {
		return nil, false
	}
	return f.Info(w.stored(name)).Shape, true
}

// View returns the weights under prefix, sharing this checkpoint's open
// files (one memory map for a composite checkpoint's language model,
// encoder and projector): view.Matrix("x") reads prefix+"x". opts apply to
// the view's matrices. Closing a view does nothing; the files live until
// the Weights that opened them is closed.
func (w *Weights) View(prefix string, opts LoadOptions) *Weights {
	return w.Renamed(func(n string) string { return prefix + n }, opts)
}

// Renamed is View with any name mapping (layouts where the language
// model's names are not one prefix away, e.g. transformers >= 4.52's
// "model.language_model.*" with "lm_head.*").
func (w *Weights) Renamed(rename func(string) string, opts LoadOptions) *Weights {
	outer := w.rename
	r := rename
	if outer != nil {
		r = func(n string) string { return outer(rename(n)) }
	}
	return &Weights{Dir: w.Dir, files: w.files, byName: w.byName, opts: opts, total: w.total, rename: r, view: true}
}

// Close unmaps every file. The model must not be used afterwards.
func (w *Weights) Close() error {
	if w.owner != nil && !w.view {
		return w.owner.Close()
	}
	if w.view {
		return nil
	}
	var first error
	for _, f := range w.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	w.arena.Free()
	return first
}

func (w *Weights) info(name string, shape ...int) (*safetensors.File, *safetensors.Info, error) {
	name = w.stored(name)
	f := w.byName[name]
	if f == nil {
		return nil, nil, fmt.Errorf("%s: missing tensor %q", w.Dir, name)
	}
	info := f.Info(name)
	if !sameShape(info.Shape, shape) {
		return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", f.Path, name, info.Shape, shape)
	}
	switch info.DType {
	case tensor.F32, tensor.F16, tensor.BF16:
	default:
		return nil, nil, fmt.Errorf("%s: tensor %q has dtype %v, want F32, F16 or BF16", f.Path, name, info.DType)
	}
	return f, info, nil
}

func (w *Weights) progress(info *safetensors.Info) {
	w.done += info.End - info.Begin
	if w.opts.Progress != nil {
		w.opts.Progress(w.done, w.total)
	}
}

// Vector reads a 1-D tensor [n] as fp32 (norm weights, biases).
func (w *Weights) Vector(name string, n int) ([]float32, error) {
	f, info, err := w.info(name, n)
	if err != nil {
		return nil, err
	}
	defer w.progress(info)
	v, err := f.Float32(w.stored(name))
	if err != nil {
		return nil, err
	}
	out := make([]float32, n) // own copy: vectors are small and hot
	copy(out, v)
	return out, nil
}

// Matrix reads a 2-D weight [rows, cols]. bf16 and fp32 data alias the
// memory map (the pages are read now so the first forward is not a disk
// read); fp16 is widened to fp32; LoadOptions.WeightType converts. When
// the active kernels prefer packed bf16 weights (cpu.PreferPacked) and the
// load is not LoadOptions.Exact, a bf16
// matrix is packed (Matrix.Pack) and, if it aliased the map, the map's
// pages are released: the packed copy replaces them in resident memory.
func (w *Weights) Matrix(name string, rows, cols int) (*Matrix, error) {
	return w.Flat(name, rows, cols)
}

// Flat reads a weight of any rank whose first dimension is the output,
// shape [rows, d1, d2, ...], as a Matrix [rows, d1*d2*...] (convolution
// kernels [out, in, k] or [out, in, kh, kw] become im2col matrices), with
// Matrix's storage and conversion rules.
func (w *Weights) Flat(name string, shape ...int) (*Matrix, error) {
	if len(shape) == 0 {
		return nil, fmt.Errorf("%s: tensor %q: Flat needs a shape", w.Dir, name)
	}
	f, info, err := w.info(name, shape...)
	if err != nil {
		return nil, err
	}
	defer w.progress(info)
	name = w.stored(name)
	rows, cols := shape[0], 1
	for _, d := range shape[1:] {
		cols *= d
	}
	m := &Matrix{Rows: rows, Cols: cols}
	switch info.DType {
	case tensor.BF16:
		if m.BF16, err = f.Uint16(name); err != nil {
			return nil, err
		}
		m.DType = tensor.BF16
	default:
		if m.F32, err = f.Float32(name); err != nil {
			return nil, err
		}
		m.DType = tensor.F32
	}
	raw, _ := f.Bytes(name)
	touch(raw)
	switch w.opts.WeightType {
	case "bf16":
		m = m.ToBF16(&w.Root().arena)
	case "int8":
		m = m.ToInt8(&w.Root().arena)
	case "f32":
		if m.DType != tensor.F32 {
			f32 := &Matrix{Rows: rows, Cols: cols, DType: tensor.F32, F32: w.Root().arena.F32(rows * cols)}
			for r := 0; r < rows; r++ {
				m.Row(r, f32.F32[r*cols:(r+1)*cols])
			}
			m = f32
		}
	}
	if m.DType == tensor.I8 && cpu.PreferPackedInt8() && !w.opts.Exact && w.packs(name) {
		m.Pack(&w.Root().arena) // int8 activations on VNNI; I8 stays for Row
	}
	if m.DType == tensor.BF16 && cpu.PreferPacked() && !w.opts.Exact && w.packs(name) {
		mapped := len(raw) > 0 && len(m.BF16) > 0 && unsafe.Pointer(&m.BF16[0]) == unsafe.Pointer(&raw[0])
		m.Pack(&w.Root().arena)
		if mapped {
			cpu.ReleaseMapped(raw) // m.BF16 stays valid: a page read later faults back in
		}
	}
	return m, nil
}

// packs reports whether Flat packs the bf16 tensor name when the kernels
// prefer packed weights: every weight except a token embedding that an
// lm_head of its own makes a gather-only table (a tied one is multiplied).
func (w *Weights) packs(name string) bool {
	switch {
	case strings.HasSuffix(name, "embed_tokens.weight"):
		return !w.Has("lm_head.weight")
	case name == "model.transformer.wte.weight": // LLaDA; its head is transformer.ff_out
		return !w.Has("model.transformer.ff_out.weight")
	}
	return true
}

// touch reads one byte per page so the mapping is resident.
func touch(b []byte) {
	var s byte
	for i := 0; i < len(b); i += 4096 {
		s += b[i]
	}
	touchSink.Add(uint32(s))
}

// touchSink keeps the page reads from being optimized away; atomic, since
// engines for different checkpoints load concurrently (one per pipeline).
var touchSink atomic.Uint32

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
