package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"

	"dlmstream/engine/tensor"
)

// MaxHeaderBytes bounds the JSON header, as the reference implementation
// (huggingface/safetensors, MAX_HEADER_SIZE) does. Real checkpoints have
// headers of a few hundred KB; anything beyond is a corrupt or hostile file.
const MaxHeaderBytes = 100_000_000

// metadataKey is the header's one key that is not a tensor.
const metadataKey = "__metadata__"

// header is a validated header: the tensors tile the data section, which
// starts at dataStart and runs to the end of the file.
type header struct {
	metadata  map[string]string
	tensors   map[string]*Info
	dataStart int64
}

// readHeader reads and validates the header of the size-byte file r, with
// the reference implementation's rules (safetensors/src/tensor.rs,
// read_metadata and Metadata::validate):
//
//   - the 8-byte length is at most MaxHeaderBytes and the header fits the file;
//   - the header is UTF-8, and exactly one JSON object, whose keys are unique;
//   - __metadata__, if present and not null, maps strings to strings;
//   - every other key is a tensor with a known dtype, a shape of non-negative
//     integers and data_offsets [begin, end] with end-begin equal to the
//     shape's element count times the dtype size (computed without overflow);
//   - sorted by offset, the tensors start at 0, follow each other with no gap
//     and no overlap, and end exactly where the file does (no trailing bytes).
//
// Nothing is allocated before the length is checked against the file size,
// so a hostile length cannot cost more memory than the file has bytes.
func readHeader(path string, r io.ReaderAt, size int64) (*header, error) {
	if size < 8 {
		return nil, fmt.Errorf("%s: truncated file: %d bytes, need at least the 8-byte header length", path, size)
	}
	var lenBuf [8]byte
	if n, err := r.ReadAt(lenBuf[:], 0); n < len(lenBuf) {
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
	if n, err := r.ReadAt(hdr, 8); n < len(hdr) { // a ReaderAt may return io.EOF with a full read
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	h := &header{dataStart: 8 + int64(hlen)}
	if err := h.parse(hdr, size-h.dataStart); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return h, nil
}

// parse decodes and validates the JSON header of a file whose data section
// has dataLen bytes.
func (h *header) parse(hdr []byte, dataLen int64) error {
	if !utf8.Valid(hdr) {
		at := invalidUTF8At(hdr)
		return fmt.Errorf("header byte %d is not valid UTF-8, in %q (the header must be UTF-8 JSON)", at, hdr[max(at-24, 0):min(at+8, len(hdr))])
	}
	ms, err := objectMembers(hdr, "header")
	if err != nil {
		return err
	}
	h.tensors = make(map[string]*Info, len(ms))
	for _, m := range ms {
		if m.key == metadataKey {
			if h.metadata, err = parseMetadata(m.value); err != nil {
				return err
			}
			continue
		}
		info, err := parseEntry(m.key, m.value)
		if err != nil {
			return fmt.Errorf("tensor %q: %v", m.key, err)
		}
		if info.End > dataLen {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d-byte data section (truncated or corrupt file)", m.key, info.Begin, info.End, dataLen)
		}
		h.tensors[m.key] = info
	}
	return h.checkLayout(dataLen)
}

// parseMetadata decodes __metadata__: null (none) or an object of strings.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	ms, err := objectMembers(raw, metadataKey)
	if err != nil {
		return nil, err
	}
	md := make(map[string]string, len(ms))
	for _, m := range ms {
		var s string
		if len(m.value) == 0 || m.value[0] != '"' || json.Unmarshal(m.value, &s) != nil {
			return nil, fmt.Errorf("%s[%q] is %s, want a string (__metadata__ maps strings to strings)", metadataKey, m.key, kindOf(m.value))
		}
		md[m.key] = s
	}
	return md, nil
}

// parseEntry decodes one tensor's entry {"dtype", "shape", "data_offsets"}
// and checks that the shape fills the byte range exactly. Other keys are
// ignored, as the reference implementation ignores them.
func parseEntry(name string, raw json.RawMessage) (*Info, error) {
	ms, err := objectMembers(raw, "entry")
	if err != nil {
		return nil, err
	}
	var dtype, shape, offsets json.RawMessage
	for _, m := range ms {
		switch m.key {
		case "dtype":
			dtype = m.value
		case "shape":
			shape = m.value
		case "data_offsets":
			offsets = m.value
		}
	}
	info := &Info{Name: name}
	var dt string
	if dtype == nil || json.Unmarshal(dtype, &dt) != nil || dtype[0] != '"' {
		return nil, fmt.Errorf("dtype is %s, want a dtype name such as \"BF16\"", kindOf(dtype))
	}
	if info.DType, err = tensor.ParseDType(dt); err != nil {
		return nil, err
	}
	dims, err := integers(shape, "shape")
	if err != nil {
		return nil, err
	}
	offs, err := integers(offsets, "data_offsets")
	if err != nil {
		return nil, err
	}
	if len(offs) != 2 {
		return nil, fmt.Errorf("data_offsets must be [begin, end], got %d numbers", len(offs))
	}
	info.Begin, info.End = offs[0], offs[1]
	if info.End < info.Begin {
		return nil, fmt.Errorf("data_offsets [%d, %d] end before they begin", info.Begin, info.End)
	}
	info.Shape = make([]int, len(dims))
	numel := uint64(1)
	for i, d := range dims {
		if d > math.MaxInt {
			return nil, fmt.Errorf("shape %v: dimension %d does not fit an int", dims, i)
		}
		info.Shape[i] = int(d)
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return nil, fmt.Errorf("shape %v: element count overflows 64 bits", dims)
		}
		numel = lo
	}
	hi, want := bits.Mul64(numel, uint64(info.DType.Size()))
	if hi != 0 || want > math.MaxInt64 {
		return nil, fmt.Errorf("%v%v: byte size overflows 64 bits", info.DType, dims)
	}
	if span := info.End - info.Begin; uint64(span) != want {
		return nil, fmt.Errorf("%v%v needs %d bytes but data_offsets [%d, %d] span %d", info.DType, info.Shape, want, info.Begin, info.End, span)
	}
	return info, nil
}

// integers decodes a JSON array of non-negative integers (shape,
// data_offsets); what names it in errors.
func integers(raw json.RawMessage, what string) ([]int64, error) {
	var elems []json.RawMessage
	if raw == nil || raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, fmt.Errorf("%s is %s, want an array of non-negative integers", what, kindOf(raw))
	}
	out := make([]int64, len(elems))
	for i, e := range elems {
		// ParseInt takes only digits (and a sign): a quoted number, which
		// encoding/json would turn into a json.Number, is refused here.
		v, err := strconv.ParseInt(string(e), 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s[%d] = %s, want a non-negative integer below 2^63", what, i, e)
		}
		out[i] = v
	}
	return out, nil
}

// checkLayout checks that the tensors, sorted by offset, tile the data
// section: first at 0, each where the previous ends, the last at dataLen.
func (h *header) checkLayout(dataLen int64) error {
	byBegin := make([]*Info, 0, len(h.tensors))
	for _, t := range h.tensors {
		byBegin = append(byBegin, t)
	}
	sort.Slice(byBegin, func(i, j int) bool {
		a, b := byBegin[i], byBegin[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Name < b.Name
	})
	var end int64
	for i, t := range byBegin {
		switch {
		case i == 0 && t.Begin != 0:
			return fmt.Errorf("tensor %q, the first in the data section, begins at byte %d, not 0 (%d bytes belong to no tensor)", t.Name, t.Begin, t.Begin)
		case i > 0 && t.Begin < end:
			p := byBegin[i-1]
			return fmt.Errorf("tensors %q [%d, %d] and %q [%d, %d] overlap", p.Name, p.Begin, p.End, t.Name, t.Begin, t.End)
		case i > 0 && t.Begin > end:
			p := byBegin[i-1]
			return fmt.Errorf("tensor %q begins at byte %d but %q ends at %d: a %d-byte gap (data_offsets must be contiguous)", t.Name, t.Begin, p.Name, end, t.Begin-end)
		}
		end = t.End
	}
	if end != dataLen {
		last := "no tensor"
		if len(byBegin) > 0 {
			last = fmt.Sprintf("the last tensor %q", byBegin[len(byBegin)-1].Name)
		}
		return fmt.Errorf("%d trailing bytes: the data section has %d bytes but %s ends at byte %d", dataLen-end, dataLen, last, end)
	}
	return nil
}

// kindOf names a raw JSON value's kind for errors.
func kindOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "missing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// invalidUTF8At is the offset of the first byte of b that is not valid UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}
