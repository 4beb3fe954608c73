// Package safetensors reads the safetensors file format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON header, then the tensor data. Files are memory
// mapped read-only where the OS allows it, so multi-gigabyte checkpoints cost
// page cache, not heap.
//
// Every header is validated before any tensor is handed out, with the rules
// of the reference implementation (huggingface/safetensors,
// safetensors/src/tensor.rs): a header of at most MaxHeaderBytes that fits
// the file; UTF-8 JSON holding exactly one object, with no key twice;
// __metadata__ mapping strings to strings; known dtype names; shapes whose
// byte size (computed without overflow) equals their data_offsets' span;
// and tensors that, sorted by offset, tile the data section from byte 0 to
// the end of the file with no gap, overlap or trailing byte. Errors name
// the file and the tensor.
package safetensors

import (
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"unsafe"

	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// Info describes one tensor in a file.
type Info struct {
	Name  string
	DType tensor.DType
	Shape []int
	// Begin and End are byte offsets relative to the start of the data section.
	Begin, End int64
}

// Numel is the number of elements (1 for a scalar with an empty shape).
func (i *Info) Numel() int64 {
	n := int64(1)
	for _, d := range i.Shape {
		n *= int64(d)
	}
	return n
}

// File is an open safetensors file.
type File struct {
	Path     string
	Metadata map[string]string
	tensors  map[string]*Info
	data     []byte // data section (after the header)
	unmap    func() error
}

// Open maps the file and validates its header (the package comment lists
// the rules). The path must name a regular file (or a link to one): a FIFO
// or device would block or map something that is not a checkpoint.
func Open(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%v)", path, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	size := st.Size()
	h, err := readHeader(path, f, size)
	if err != nil {
		return nil, err
	}
	whole, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Path: path, Metadata: h.metadata, tensors: h.tensors, data: whole[h.dataStart:], unmap: unmap}, nil
}

// Close releases the mapping. Slices returned earlier must not be used after.
func (sf *File) Close() error {
	if sf.unmap == nil {
		return nil
	}
	err := sf.unmap()
	sf.unmap, sf.data = nil, nil
	return err
}

// Names lists the tensors in the file, sorted.
func (sf *File) Names() []string {
	names := make([]string, 0, len(sf.tensors))
	for n := range sf.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Info returns the description of a tensor, or nil if the file lacks it.
func (sf *File) Info(name string) *Info { return sf.tensors[name] }

// Bytes returns the raw little-endian bytes of a tensor (aliasing the map).
func (sf *File) Bytes(name string) ([]byte, error) {
	t := sf.tensors[name]
	if t == nil {
		return nil, fmt.Errorf("%s: missing tensor %q", sf.Path, name)
	}
	return sf.data[t.Begin:t.End:t.End], nil
}

// Float32 returns a tensor as []float32, converting from F32, F16, BF16 (and
// widening integer types). F32 data aligned to 4 bytes aliases the mapping;
// everything else is a fresh copy.
func (sf *File) Float32(name string) ([]float32, error) {
	b, err := sf.Bytes(name)
	if err != nil {
		return nil, err
	}
	t := sf.tensors[name]
	n := int(t.Numel())
	switch t.DType {
	case tensor.F32:
		if n == 0 {
			return []float32{}, nil
		}
		if uintptr(unsafe.Pointer(&b[0]))%4 == 0 && littleEndian {
			return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n), nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case tensor.BF16, tensor.F16:
		raw, err := sf.Uint16(name)
		if err != nil {
			return nil, err
		}
		out := make([]float32, n)
		if t.DType == tensor.F16 {
			cpu.F16ToF32(out, raw)
		} else {
			cpu.BF16ToF32(out, raw)
		}
		return out, nil
	case tensor.I64:
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return out, nil
	case tensor.I32:
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: tensor %q: cannot convert %v to float32", sf.Path, name, t.DType)
}

// Uint16 returns the raw 16-bit elements of a BF16 or F16 tensor, aliasing
// the mapping when it is 2-byte aligned.
func (sf *File) Uint16(name string) ([]uint16, error) {
	b, err := sf.Bytes(name)
	if err != nil {
		return nil, err
	}
	t := sf.tensors[name]
	if t.DType != tensor.BF16 && t.DType != tensor.F16 {
		return nil, fmt.Errorf("%s: tensor %q is %v, not a 16-bit float", sf.Path, name, t.DType)
	}
	n := int(t.Numel())
	if n == 0 {
		return []uint16{}, nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%2 == 0 && littleEndian {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n), nil
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out, nil
}

// Int64 returns an integer tensor (I64, I32, U8, I8) widened to int64.
func (sf *File) Int64(name string) ([]int64, error) {
	b, err := sf.Bytes(name)
	if err != nil {
		return nil, err
	}
	t := sf.tensors[name]
	out := make([]int64, t.Numel())
	for i := range out {
		switch t.DType {
		case tensor.I64:
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		case tensor.I32:
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		case tensor.U8:
			out[i] = int64(b[i])
		case tensor.I8:
			out[i] = int64(int8(b[i]))
		default:
			return nil, fmt.Errorf("%s: tensor %q is %v, not an integer type", sf.Path, name, t.DType)
		}
	}
	return out, nil
}
