package model_test

import (
	"path/filepath"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/tensor"
	"dlmstream/kernels/cpu"
)

// TestOpenWeightsExact: a bf16 matrix is packed for the fast kernels only
// where they prefer it and the load is not Exact; an Exact load, and a view
// with Exact options, keep it unpacked (the transformers parity tests rely
// on it), and both give the same rows.
func TestOpenWeightsExact(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "models", "tiny-sdar")
	const name = "model.layers.0.mlp.up_proj.weight"
	for _, c := range []struct {
		name       string
		opts       model.LoadOptions
		view       *model.LoadOptions
		wantPacked bool
	}{
		{"default", model.LoadOptions{}, nil, cpu.PreferPacked()},
		{"exact", model.LoadOptions{Exact: true}, nil, false},
		{"exact view", model.LoadOptions{}, &model.LoadOptions{Exact: true}, false},
		{"default view of exact", model.LoadOptions{Exact: true}, &model.LoadOptions{}, cpu.PreferPacked()},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := model.OpenWeightsWith(dir, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			r := w
			if c.view != nil {
				r = w.View("", *c.view)
			}
			shape, ok := r.Shape(name)
			if !ok {
				t.Fatalf("no %s", name)
			}
			m, err := r.Matrix(name, shape[0], shape[1])
			if err != nil {
				t.Fatal(err)
			}
			if m.DType != tensor.BF16 {
				t.Fatalf("dtype %v, want BF16 (tiny-sdar is stored in bf16)", m.DType)
			}
			if got := m.Packed != nil; got != c.wantPacked {
				t.Errorf("packed = %v, want %v (kernels %s)", got, c.wantPacked, cpu.Path())
			}
			// Row reads the same values either way.
			row := make([]float32, m.Cols)
			m.Row(3, row)
			want := make([]float32, m.Cols)
			cpu.BF16ToF32(want, m.BF16[3*m.Cols:4*m.Cols])
			for i, v := range row {
				if v != want[i] {
					t.Fatalf("row 3 col %d = %v, want %v", i, v, want[i])
				}
			}
		})
	}
}
