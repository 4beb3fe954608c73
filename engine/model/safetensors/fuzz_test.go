package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"math/big"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// virtualFile is a safetensors file made of an 8-byte header length, a
// header, and dataLen zero bytes that are never materialized, so the fuzzer
// can claim gigabytes of data for free.
type virtualFile struct {
	prefix  []byte // length field and header
	dataLen int64
}

// newVirtualFile stores len(header)+lengthDelta (wrapping) as the header
// length: a delta of 0 gives a consistent file, whatever the header.
func newVirtualFile(lengthDelta int64, header []byte, dataLen uint32) *virtualFile {
	p := make([]byte, 8, 8+len(header))
	binary.LittleEndian.PutUint64(p, uint64(len(header))+uint64(lengthDelta))
	return &virtualFile{prefix: append(p, header...), dataLen: int64(dataLen)}
}

func (v *virtualFile) Size() int64 { return int64(len(v.prefix)) + v.dataLen }

func (v *virtualFile) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if off < 0 || off >= v.Size() {
		return 0, io.EOF
	}
	n := 0
	if off < int64(len(v.prefix)) {
		n = copy(p, v.prefix[off:])
	}
	zeros := min(int64(len(p)-n), v.Size()-off-int64(n))
	clear(p[n : n+int(zeros)])
	n += int(zeros)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// FuzzSafetensorsHeader feeds readHeader, Open's parser, files of a length
// field (len(header)+lengthDelta), a header and dataLen bytes of data. It
// never panics; an error names the file; an accepted header's tensors tile
// the data section exactly, each tensor's byte range holding its shape;
// and everything parsed is bounded by the header's own size.
//
// The seeds hold real checkpoint headers of a few KB, and Go minimizes
// each new interesting input in time quadratic in its length (up to
// -fuzzminimizetime, 60s by default), so a run spends much of its time
// minimizing; -fuzzminimizetime=1s gives several times the executions.
func FuzzSafetensorsHeader(f *testing.F) {
	f.Add(int64(0), []byte(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`), uint32(8))
	f.Fuzz(func(t *testing.T, lengthDelta int64, hdr []byte, dataLen uint32) {
		const path = "fuzz.safetensors"
		v := newVirtualFile(lengthDelta, hdr, dataLen)
		if hl := uint64(len(hdr)) + uint64(lengthDelta); hl > uint64(len(hdr))+1<<16 && hl <= MaxHeaderBytes && hl <= uint64(v.Size()-8) {
			// A header length reaching far into the zero data fails at the
			// first zero byte, after allocating up to MaxHeaderBytes: a
			// slow exec that would stall minimization for nothing.
			return
		}
		h, err := readHeader(path, v, v.Size())
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		data := v.Size() - h.dataStart
		if h.dataStart != int64(len(v.prefix)) || data != int64(dataLen) {
			t.Fatalf("accepted a header length that is not the header's: data starts at %d, header ends at %d", h.dataStart, len(v.prefix))
		}
		checkTiling(t, h, data)
		// Differential: the token walk and encoding/json read the same object.
		var plain map[string]json.RawMessage
		if err := json.Unmarshal(hdr, &plain); err != nil {
			t.Fatalf("accepted a header encoding/json refuses: %v", err)
		}
		if _, ok := plain[metadataKey]; len(plain) != len(h.tensors) && !(ok && len(plain) == len(h.tensors)+1) {
			t.Fatalf("%d keys for encoding/json, %d tensors here", len(plain), len(h.tensors))
		}
		dims := 0
		for name, info := range h.tensors {
			dims += len(info.Shape)
			if name != info.Name || !utf8.ValidString(name) {
				t.Fatalf("tensor %q recorded as %q", name, info.Name)
			}
			want := new(big.Int).SetInt64(int64(info.DType.Size()))
			for _, d := range info.Shape {
				want.Mul(want, big.NewInt(int64(d)))
			}
			if want.Cmp(big.NewInt(info.End-info.Begin)) != 0 {
				t.Fatalf("tensor %q: %v%v in %d bytes [%d, %d]", name, info.DType, info.Shape, info.End-info.Begin, info.Begin, info.End)
			}
		}
		// Bounded allocation: every tensor and dimension took header bytes.
		if len(h.tensors) > len(hdr) || dims > len(hdr) || len(h.metadata) > len(hdr) {
			t.Fatalf("%d tensors, %d dimensions, %d metadata keys from a %d-byte header", len(h.tensors), dims, len(h.metadata), len(hdr))
		}
		for k, s := range h.metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(s) {
				t.Fatalf("metadata %q: %q is not UTF-8", k, s)
			}
		}
		if data > 1<<16 {
			return
		}
		// The typed accessors of a File over these tensors never panic.
		sf := &File{Path: path, Metadata: h.metadata, tensors: h.tensors, data: make([]byte, data)}
		for _, n := range sf.Names() {
			if b, err := sf.Bytes(n); err != nil || int64(len(b)) != h.tensors[n].End-h.tensors[n].Begin {
				t.Fatalf("tensor %q: %d bytes, err %v", n, len(b), err)
			}
			sf.Float32(n)
			sf.Uint16(n)
			sf.Int64(n)
		}
	})
}

// checkTiling fails t unless h's tensors, sorted by offset, cover
// [0, dataLen) with no gap or overlap.
func checkTiling(t *testing.T, h *header, dataLen int64) {
	t.Helper()
	infos := make([]*Info, 0, len(h.tensors))
	for _, info := range h.tensors {
		if info.Begin < 0 || info.End < info.Begin || info.End > dataLen {
			t.Fatalf("tensor %q: [%d, %d] outside the %d-byte data section", info.Name, info.Begin, info.End, dataLen)
		}
		infos = append(infos, info)
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Begin != infos[j].Begin {
			return infos[i].Begin < infos[j].Begin
		}
		return infos[i].End < infos[j].End
	})
	var end int64
	for _, info := range infos {
		if info.Begin != end {
			t.Fatalf("tensor %q begins at %d, previous ends at %d", info.Name, info.Begin, end)
		}
		end = info.End
	}
	if end != dataLen {
		t.Fatalf("tensors end at %d of %d data bytes", end, dataLen)
	}
}
