package vision

import (
	"image"
	"path/filepath"
	"sync"
	"testing"

	"dlmstream/engine/model"
)

// TestLoadFromSharedWeights: the tower reads the engine's open weights (one
// memory map), and closing the vision Model leaves them open.
func TestLoadFromSharedWeights(t *testing.T) {
	for _, name := range []string{"demo-vision", "tiny-sdar-vl", "tiny-qwen25vl"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(modelsDir, name)
			w, err := model.OpenWeights(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			m, err := LoadFrom(dir, w)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Encode(goldenImage(t, "gradient-37x53.png")); err != nil {
				t.Fatalf("encode after closing the vision side: %v", err)
			}
		})
	}
}

// TestEncodeEdgeImages: odd shapes give features or a typed error, never a panic.
func TestEncodeEdgeImages(t *testing.T) {
	llava, err := Load(filepath.Join(modelsDir, "tiny-sdar-vl"))
	if err != nil {
		t.Fatal(err)
	}
	defer llava.Close()
	qwen, err := Load(filepath.Join(modelsDir, "tiny-qwen25vl"))
	if err != nil {
		t.Fatal(err)
	}
	defer qwen.Close()
	gray := image.NewGray(image.Rect(3, 5, 40, 25)) // bounds not at the origin
	tests := []struct {
		name       string
		img        image.Image
		llavaRows  int    // 0: only "no error"
		qwenReason Reason // "" = features
	}{
		{"1x1", NewRGB(1, 1), 0, ""},
		{"1x100000", NewRGB(1, 100000), 0, ReasonUnsupported},
		{"100000x1", NewRGB(100000, 1), 0, ReasonUnsupported},
		{"gray with offset bounds", gray, 0, ""},
		{"200x1 (aspect 200 is allowed)", NewRGB(200, 1), 0, ""},
		{"empty", NewRGB(0, 0), -1, ReasonEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := llava.Encode(tt.img)
			switch {
			case tt.llavaRows < 0:
				if ReasonOf(err) != ReasonEmpty {
					t.Errorf("llava: %v, want an empty-image error", err)
				}
			case err != nil:
				t.Errorf("llava: %v", err)
			default:
				b := tt.img.Bounds()
				if n, _ := llava.NumTokens(b.Dx(), b.Dy()); n != f.N || len(f.Rows) != f.N*f.Hidden {
					t.Errorf("llava: %d rows, NumTokens %d", f.N, n)
				}
			}
			f, err = qwen.Encode(tt.img)
			if tt.qwenReason != "" {
				if ReasonOf(err) != tt.qwenReason {
					t.Errorf("qwen: %v, want reason %s", err, tt.qwenReason)
				}
				return
			}
			if err != nil {
				t.Fatalf("qwen: %v", err)
			}
			if f.N == 0 || len(f.Positions[0]) != f.N {
				t.Errorf("qwen: %d rows, %d positions", f.N, len(f.Positions[0]))
			}
		})
	}
}

// TestEncodeConcurrent: one Encoder serves many goroutines with identical results.
func TestEncodeConcurrent(t *testing.T) {
	for _, name := range []string{"tiny-sdar-vl", "tiny-qwen25vl"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(modelsDir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			img := goldenImage(t, "photo-200x150.png")
			want, err := m.Encode(img)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			for range 4 {
				wg.Go(func() {
					f, err := m.Encode(img)
					if err != nil {
						errs <- err.Error()
						return
					}
					for i := range f.Rows {
						if f.Rows[i] != want.Rows[i] {
							errs <- "rows differ between goroutines"
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}
