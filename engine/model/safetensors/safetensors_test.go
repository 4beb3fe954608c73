package safetensors

import (
	"bytes"
	"encoding/binary"
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

func TestOpenErrors(t *testing.T) {
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, MaxHeaderBytes+1)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"empty file", nil, "truncated file"},
		{"short length", []byte{1, 2, 3}, "truncated file"},
		{"header past end", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, nil)[:20], "truncated file: header claims"},
		{"header too large", huge, "exceeds the"},
		{"not json", rawFile(`[1,2`, nil), "not a JSON object"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), `tensor "a": unknown dtype "F8_E9"`},
		{"offsets outside file", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 8)), `tensor "a": data_offsets [0, 16] outside`},
		{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 8)), "outside"},
		{"shape mismatch", rawFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a": F32[3] needs 12 bytes`},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), "overlap"},
		{"bad offsets arity", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}`, make([]byte, 4)), "data_offsets must be"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil), "invalid shape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, tt.file)
			_, err := Open(p)
			if err == nil {
				t.Fatalf("Open succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file and %q", err, tt.want)
			}
		})
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
