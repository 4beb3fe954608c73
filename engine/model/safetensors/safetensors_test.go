package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/engine/tensor"
)

func writeFile(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawFile builds a file from a literal JSON header and a data section.
func rawFile(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := []float32{1, -2, 3.5, 0.25, 7, 8}
	bf := []byte{0x80, 0x3f, 0x00, 0x40} // bf16 1.0, 2.0
	err := Write(&buf, map[string]Tensor{
		"w":  {DType: tensor.F32, Shape: []int{2, 3}, Data: F32Bytes(w)},
		"b":  {DType: tensor.BF16, Shape: []int{2}, Data: bf},
		"id": {DType: tensor.I64, Shape: []int{1}, Data: []byte{42, 0, 0, 0, 0, 0, 0, 0}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(writeFile(t, buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Metadata["format"]; got != "pt" {
		t.Errorf("metadata format = %q, want pt", got)
	}
	if got := strings.Join(f.Names(), ","); got != "b,id,w" {
		t.Errorf("Names = %s", got)
	}
	gw, err := f.Float32("w")
	if err != nil {
		t.Fatal(err)
	}
	for i := range w {
		if gw[i] != w[i] {
			t.Fatalf("w[%d] = %v, want %v", i, gw[i], w[i])
		}
	}
	gb, _ := f.Float32("b")
	if gb[0] != 1 || gb[1] != 2 {
		t.Errorf("bf16 = %v, want [1 2]", gb)
	}
	ids, _ := f.Int64("id")
	if ids[0] != 42 {
		t.Errorf("id = %v", ids)
	}
	if _, err := f.Float32("nope"); err == nil || !strings.Contains(err.Error(), `missing tensor "nope"`) {
		t.Errorf("missing tensor error = %v", err)
	}
}

// entry is one tensor's header entry, for hand-built headers.
func entry(name, dtype, shape string, begin, end int) string {
	return fmt.Sprintf(`%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, dtype, shape, begin, end)
}

// hostileHeaders are the header classes the reference implementation
// (huggingface/safetensors) refuses, each with the words its error must have.
// TestOpenErrors opens them from disk; the fuzz seeds are built from them.
var hostileHeaders = []struct {
	name   string
	header string
	data   int    // bytes of data after the header
	want   string // substring of the error; the file's path is checked too
}{
	{"not json", `[1,2`, 0, "header is an array, want a JSON object"},
	{"truncated json", `{"a":`, 0, "header: value of \"a\" is not valid JSON"},
	{"null header", `null`, 0, "header is null, want a JSON object"},
	{"array header", `[]`, 0, "header is an array"},
	{"string header", `"x"`, 0, "header is a string"},
	{"json after the object", `{} {}`, 0, "header has \"{\" after its object"},
	{"empty header", ``, 0, "header is not valid JSON: unexpected end of JSON"},
	{"duplicate tensor", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}", 8, `header has key "a" twice`},
	{"duplicate escaped name", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8, `key "a" twice`},
	{"duplicate entry field", `{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}`, 4, `tensor "a": entry has key "dtype" twice`},
	{"non-utf8 name", "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, `header byte 3 is not valid UTF-8, in "{\"a\xff\":{\"dty"`},
	{"gap", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12, `tensor "b" begins at byte 8 but "a" ends at 4: a 4-byte gap`},
	{"first tensor not at 0", "{" + entry("a", "F32", "[1]", 4, 8) + "}", 8, `tensor "a", the first in the data section, begins at byte 4, not 0`},
	{"trailing bytes", "{" + entry("a", "F32", "[1]", 0, 4) + "}", 12, `8 trailing bytes: the data section has 12 bytes but the last tensor "a" ends at byte 4`},
	{"data without tensors", `{}`, 4, "4 trailing bytes: the data section has 4 bytes but no tensor ends at byte 0"},
	{"overlap", "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12, `tensors "a" [0, 8] and "b" [4, 12] overlap`},
	{"same range twice", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 0, 4) + "}", 4, `tensors "a" [0, 4] and "b" [0, 4] overlap`},
	{"offsets outside file", "{" + entry("a", "F32", "[4]", 0, 16) + "}", 8, `tensor "a": data_offsets [0, 16] outside the 8-byte data section`},
	{"negative offset", "{" + entry("a", "F32", "[1]", -4, 0) + "}", 8, `tensor "a": data_offsets[0] = -4, want a non-negative integer`},
	{"offsets reversed", "{" + entry("a", "F32", "[0]", 4, 0) + "}", 4, `tensor "a": data_offsets [4, 0] end before they begin`},
	{"offsets arity", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, 4, `tensor "a": data_offsets must be [begin, end], got 1 numbers`},
	{"offsets missing", `{"a":{"dtype":"F32","shape":[1]}}`, 4, `tensor "a": data_offsets is missing`},
	{"offset beyond int64", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}`, 4, `tensor "a": data_offsets[1] = 18446744073709551616`},
	{"shape mismatch", "{" + entry("a", "F32", "[3]", 0, 8) + "}", 8, `tensor "a": F32[3] needs 12 bytes but data_offsets [0, 8] span 8`},
	{"shape overflow", "{" + entry("a", "F32", "[4294967296,4294967296,0]", 0, 0) + "}", 0, `tensor "a": shape [4294967296 4294967296 0]: element count overflows 64 bits`},
	{"byte size overflow", "{" + entry("a", "F32", "[4611686018427387904]", 0, 0) + "}", 0, `tensor "a": F32[4611686018427387904]: byte size overflows 64 bits`},
	{"negative dim", "{" + entry("a", "F32", "[-1]", 0, 0) + "}", 0, `tensor "a": shape[0] = -1, want a non-negative integer`},
	{"quoted dim", "{" + entry("a", "F32", `["1"]`, 0, 4) + "}", 4, `tensor "a": shape[0] = "1", want a non-negative integer`},
	{"exponent dim", "{" + entry("a", "F32", `[1e0]`, 0, 4) + "}", 4, `tensor "a": shape[0] = 1e0, want a non-negative integer`},
	{"fractional dim", "{" + entry("a", "F32", "[1.5]", 0, 4) + "}", 4, `tensor "a": shape[0] = 1.5`},
	{"shape missing", `{"a":{"dtype":"F32","data_offsets":[0,4]}}`, 4, `tensor "a": shape is missing, want an array`},
	{"shape null", `{"a":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}`, 4, `tensor "a": shape is null, want an array`},
	{"unknown dtype", "{" + entry("a", "F8_E9", "[1]", 0, 1) + "}", 1, `tensor "a": unknown dtype "F8_E9"`},
	{"dtype not a string", `{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}`, 4, `tensor "a": dtype is a number, want a dtype name`},
	{"entry null", `{"a":null}`, 0, `tensor "a": entry is null, want a JSON object`},
	{"entry not an object", `{"a":[1,2]}`, 0, `tensor "a": entry is an array, want a JSON object`},
	{"metadata not an object", `{"__metadata__":["x"]}`, 0, "__metadata__ is an array, want a JSON object"},
	{"metadata number value", `{"__metadata__":{"format":1}}`, 0, `__metadata__["format"] is a number, want a string`},
	{"metadata null value", `{"__metadata__":{"format":null}}`, 0, `__metadata__["format"] is null, want a string`},
	{"metadata nested", `{"__metadata__":{"format":{"a":"b"}}}`, 0, `__metadata__["format"] is an object, want a string`},
	{"metadata duplicate key", `{"__metadata__":{"format":"pt","format":"np"}}`, 0, `__metadata__ has key "format" twice`},
	{"metadata twice", `{"__metadata__":{},"__metadata__":{}}`, 0, `header has key "__metadata__" twice`},
}

func TestOpenErrors(t *testing.T) {
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, MaxHeaderBytes+1)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "truncated file: 0 bytes"},
		{"short length", []byte{1, 2, 3}, "truncated file: 3 bytes"},
		{"header past end", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, nil)[:20], "truncated file: header claims 54 bytes but only 12 follow"},
		{"header over the limit", huge, "header length 100000001 bytes exceeds the 100000000-byte limit"},
		{"header length 2^64-1", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'}, "header length 18446744073709551615 bytes exceeds"},
	}
	for _, h := range hostileHeaders {
		tests = append(tests, struct {
			name string
			file []byte
			want string
		}{h.name, rawFile(h.header, make([]byte, h.data)), h.want})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.file)
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), p+": ") {
				t.Fatalf("error %q does not name the file and %q", err, tt.want)
			}
		})
	}
}

// Headers the reference accepts that a stricter reading might not.
func TestOpenEdgeCases(t *testing.T) {
	tests := []struct {
		name   string
		header string
		data   int
		names  string
		meta   map[string]string
	}{
		{"empty checkpoint", `{}`, 0, "", nil},
		{"null metadata", `{"__metadata__":null}`, 0, "", nil},
		{"space padding", `{"__metadata__":{"format":"pt"}}      `, 0, "", map[string]string{"format": "pt"}},
		{"scalar", "{" + entry("s", "F32", "[]", 0, 4) + "}", 4, "s", nil},
		{"empty tensors anywhere", "{" + entry("z", "F32", "[0]", 0, 0) + "," + entry("a", "F32", "[1]", 0, 4) + "," + entry("y", "BF16", "[2,0]", 4, 4) + "}", 4, "a,y,z", nil},
		{"zero dimension before a huge one", "{" + entry("z", "F32", "[0,4611686018427387904]", 0, 0) + "}", 0, "z", nil},
		{"whitespace everywhere", "{ \"a\" : { \"dtype\" : \"F32\" , \"shape\" : [ 1 , 2 ] , \"data_offsets\" : [ 0 , 8 ] } }", 8, "a", nil},
		{"unknown entry fields", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[{"x":1}]}}`, 4, "a", nil},
		{"out-of-order entries", "{" + entry("b", "F32", "[1]", 4, 8) + "," + entry("a", "F32", "[1]", 0, 4) + "}", 8, "a,b", nil},
		{"empty name", "{" + entry("", "U8", "[1]", 0, 1) + "}", 1, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(writeFile(t, rawFile(tt.header, make([]byte, tt.data))))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := strings.Join(f.Names(), ","); got != tt.names {
				t.Errorf("Names = %q, want %q", got, tt.names)
			}
			if fmt.Sprint(f.Metadata) != fmt.Sprint(tt.meta) {
				t.Errorf("Metadata = %v, want %v", f.Metadata, tt.meta)
			}
			for _, n := range f.Names() {
				if _, err := f.Bytes(n); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// Every checkpoint and golden file in the repository meets the rules.
func TestOpenRepositoryFiles(t *testing.T) {
	root := filepath.Join("..", "..", "..", "testdata")
	var n int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".safetensors") {
			return err
		}
		n++
		f, err := Open(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		return f.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no .safetensors files under %s", root)
	}
}

func TestOpenNotRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Open(directory): err = %v, want one saying it is not a regular file", err)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "f.safetensors")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, err := Open(p)
		if err != nil {
			return
		}
		defer sf.Close()
		for _, n := range sf.Names() { // every validated tensor must be readable
			if _, err := sf.Bytes(n); err != nil {
				t.Fatal(err)
			}
		}
	})
}
