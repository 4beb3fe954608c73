// Package safetensors reads the safetensors file format
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON header, then the tensor data. Files are memory
// mapped read-only where the OS allows it, so multi-gigabyte checkpoints cost
// page cache, not heap.
//
// Every header is validated before any tensor is handed out: dtype names,
// shapes against byte ranges, offsets inside the file, no two tensors
// overlapping, and a bounded header size. Errors name the file and tensor.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"unsafe"

	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// MaxHeaderBytes bounds the JSON header. Real checkpoints have headers of a
// few hundred KB; anything far beyond is a corrupt or hostile file.
const MaxHeaderBytes = 100 << 20

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

type headerEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// Open maps the file and validates its header.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("%s: truncated file: %d bytes, need at least the 8-byte header length", path, size)
	}
	var lenBuf [8]byte
	if _, err := io.ReadFull(f, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("%s: reading header length: %w", path, err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > MaxHeaderBytes {
		return nil, fmt.Errorf("%s: header length %d bytes exceeds the %d-byte limit (corrupt or not a safetensors file)", path, hlen, MaxHeaderBytes)
	}
	if int64(hlen) > size-8 {
		return nil, fmt.Errorf("%s: truncated file: header claims %d bytes but only %d follow", path, hlen, size-8)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	sf := &File{Path: path}
	dataLen := size - 8 - int64(hlen)
	if err := sf.parseHeader(hdr, dataLen); err != nil {
		return nil, err
	}
	whole, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sf.data = whole[8+hlen:]
	sf.unmap = unmap
	return sf, nil
}

func (sf *File) parseHeader(hdr []byte, dataLen int64) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return fmt.Errorf("%s: header is not a JSON object: %v", sf.Path, err)
	}
	sf.tensors = make(map[string]*Info, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &sf.Metadata); err != nil {
				return fmt.Errorf("%s: __metadata__ must map strings to strings: %v", sf.Path, err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return fmt.Errorf("%s: tensor %q: bad header entry: %v", sf.Path, name, err)
		}
		dt, err := tensor.ParseDType(e.DType)
		if err != nil {
			return fmt.Errorf("%s: tensor %q: %v", sf.Path, name, err)
		}
		if len(e.DataOffsets) != 2 {
			return fmt.Errorf("%s: tensor %q: data_offsets must be [begin, end], got %v", sf.Path, name, e.DataOffsets)
		}
		info := &Info{Name: name, DType: dt, Shape: e.Shape, Begin: e.DataOffsets[0], End: e.DataOffsets[1]}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && numel > (1<<50)/int64(d)) {
				return fmt.Errorf("%s: tensor %q: invalid shape %v", sf.Path, name, e.Shape)
			}
			numel *= int64(d)
		}
		if info.Begin < 0 || info.End < info.Begin || info.End > dataLen {
			return fmt.Errorf("%s: tensor %q: data_offsets [%d, %d] outside the %d-byte data section (truncated or corrupt file)", sf.Path, name, info.Begin, info.End, dataLen)
		}
		if want := numel * int64(dt.Size()); info.End-info.Begin != want {
			return fmt.Errorf("%s: tensor %q: %v%v needs %d bytes but data_offsets [%d, %d] span %d", sf.Path, name, dt, e.Shape, want, info.Begin, info.End, info.End-info.Begin)
		}
		sf.tensors[name] = info
	}
	byBegin := make([]*Info, 0, len(sf.tensors))
	for _, t := range sf.tensors {
		byBegin = append(byBegin, t)
	}
	sort.Slice(byBegin, func(i, j int) bool {
		if byBegin[i].Begin != byBegin[j].Begin {
			return byBegin[i].Begin < byBegin[j].Begin
		}
		return byBegin[i].Name < byBegin[j].Name
	})
	for i := 1; i < len(byBegin); i++ {
		a, b := byBegin[i-1], byBegin[i]
		if b.Begin < a.End {
			return fmt.Errorf("%s: tensors %q [%d, %d] and %q [%d, %d] overlap", sf.Path, a.Name, a.Begin, a.End, b.Name, b.Begin, b.End)
		}
	}
	return nil
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
