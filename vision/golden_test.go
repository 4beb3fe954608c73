package vision

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The goldens are written by tools/reference/vision_goldens.py (transformers 5.23,
// Pillow 13); see that script for what each file holds.
const goldenDir = "../testdata/golden/vision"

// f32Array is a golden float32 array: base64 of little-endian float32.
type f32Array struct {
	Shape []int  `json:"shape"`
	F32   string `json:"f32"`
}

func (a f32Array) values(t testing.TB) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(a.F32)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	if n != len(out) {
		t.Fatalf("golden array has %d values, shape %v", len(out), a.Shape)
	}
	return out
}

// u8z decodes base64 of zlib-compressed bytes.
func u8z(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readGolden(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatalf("%v (regenerate with python3 tools/reference/vision_goldens.py)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// goldenImage decodes one of the golden input images.
func goldenImage(t testing.TB, name string) *RGB {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "images", name))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := Decode(b, DecodeOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// diff returns max and mean |a-b|.
func diff(a, b []float32) (maxAbs, mean float64) {
	var s float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		maxAbs = max(maxAbs, d)
		s += d
	}
	if len(a) > 0 {
		mean = s / float64(len(a))
	}
	return maxAbs, mean
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
