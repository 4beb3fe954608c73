package asr

// Goldens: testdata/golden/asr/mel.json, written by transformers' WhisperFeatureExtractor
// (numpy path). Regenerate from the repository root with
//
//	python3 tools/reference/asr_goldens.py mel
//
// (see testdata/golden/asr/README.md for the pinned Python packages).

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

const melGoldenPath = "../testdata/golden/asr/mel.json"

// melTol is the bound asserted on every golden case. Measured max |diff| (float64 STFT here
// and in numpy, float32 output): 1.2e-7 on speech, silence (0), noise, clipped, short,
// speech-128, noise-128, speech-demo, clipped-demo, truncated-demo and speech-unpadded;
// 6.0e-8 on short-unpadded; 4.6e-6 against the demo-speech training front end (torch.stft,
// float32), which is also what transformers' own numpy and torch paths differ by (<= 2.6e-5).
const melTol = 1e-4

type melGolden struct {
	Inputs map[string]struct {
		Samples int    `json:"samples"`
		Data    string `json:"data"`
	} `json:"inputs"`
	Cases []melCase `json:"cases"`
	Train melCase   `json:"train_front_end"`
}

type melCase struct {
	Name     string `json:"name"`
	Input    string `json:"input"`
	Tile     int    `json:"tile"`
	NMels    int    `json:"n_mels"`
	NSamples int    `json:"n_samples"`
	Padded   bool   `json:"padded"`
	Shape    [2]int `json:"shape"`
	Features string `json:"features"`
}

// melUnpackF32 decodes base64(gzip(float32 little-endian)).
func melUnpackF32(t *testing.T, s string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

var loadMelGolden = sync.OnceValues(func() (*melGolden, error) {
	b, err := os.ReadFile(melGoldenPath)
	if err != nil {
		return nil, err
	}
	var g melGolden
	return &g, json.Unmarshal(b, &g)
})

func melGoldenInput(t *testing.T, g *melGolden, c melCase) []float32 {
	t.Helper()
	in, ok := g.Inputs[c.Input]
	if !ok {
		t.Fatalf("no input %q", c.Input)
	}
	x := melUnpackF32(t, in.Data)
	if len(x) != in.Samples {
		t.Fatalf("input %s: %d samples, want %d", c.Input, len(x), in.Samples)
	}
	var tiled []float32
	for range max(c.Tile, 1) {
		tiled = append(tiled, x...)
	}
	return tiled
}

func melMaxDiff(a, b []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > worst || at < 0 {
			worst, at = d, i
		}
	}
	return worst, at
}

func checkMelCase(t *testing.T, g *melGolden, c melCase) float64 {
	t.Helper()
	m, err := NewMel(MelConfig{NMels: c.NMels, NSamples: c.NSamples})
	if err != nil {
		t.Fatal(err)
	}
	x := melGoldenInput(t, g, c)
	var got []float32
	if c.Padded {
		got = m.LogMel(x)
	} else {
		got = m.LogMelUnpadded(x)
	}
	want := melUnpackF32(t, c.Features)
	if len(want) != c.Shape[0]*c.Shape[1] || c.Shape[0] != c.NMels {
		t.Fatalf("golden shape %v holds %d values", c.Shape, len(want))
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %v = %d", len(got), c.Shape, len(want))
	}
	d, at := melMaxDiff(got, want)
	frames := c.Shape[1]
	t.Logf("%s %v: max |diff| %.2g at mel %d frame %d", c.Name, c.Shape, d, at/frames, at%frames)
	if d > melTol {
		t.Errorf("%s: max |diff| %g > %g at mel %d frame %d (got %g, want %g)",
			c.Name, d, melTol, at/frames, at%frames, got[at], want[at])
	}
	return d
}

func TestLogMelGolden(t *testing.T) {
	g, err := loadMelGolden()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) < 10 {
		t.Fatalf("only %d golden cases", len(g.Cases))
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) { checkMelCase(t, g, c) })
	}
}

// TestLogMelTrainFrontEnd checks the demo-speech checkpoint's own training front end
// (tools/train/speech/model.py LogMel: torch.stft in float32), with the checkpoint's config.
func TestLogMelTrainFrontEnd(t *testing.T) {
	g, err := loadMelGolden()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadMelConfig("../testdata/models/demo-speech")
	if err != nil {
		t.Fatal(err)
	}
	want := MelConfig{SampleRate: 16000, NFFT: 400, Hop: 160, NMels: 80, NSamples: 51200}
	if cfg != want {
		t.Fatalf("demo-speech config %+v, want %+v", cfg, want)
	}
	c := g.Train
	if c.NMels != cfg.NMels || c.NSamples != cfg.NSamples || c.Shape != [2]int{80, cfg.Frames()} {
		t.Fatalf("golden %+v does not match checkpoint config %+v", c, cfg)
	}
	checkMelCase(t, g, c)
}

func TestLogMelShapes(t *testing.T) {
	m, err := NewMel(MelConfig{NSamples: 51200})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		n        int
		padded   bool
		wantCols int
	}{
		{"empty padded", 0, true, 320},
		{"empty unpadded", 0, false, 0},
		{"one sample unpadded", 1, false, 0},
		{"one hop unpadded", 160, false, 1},
		{"short reflect unpadded", 170, false, 1}, // reflect padding longer than the signal
		{"long padded (truncated)", 100000, true, 320},
		{"long unpadded", 100000, false, 625},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := make([]float32, tt.n)
			for i := range x {
				x[i] = float32(math.Sin(float64(i) * 0.1))
			}
			var got []float32
			if tt.padded {
				got = m.LogMel(x)
			} else {
				got = m.LogMelUnpadded(x)
			}
			if len(got) != 80*tt.wantCols {
				t.Fatalf("got %d values, want 80x%d", len(got), tt.wantCols)
			}
			for i, v := range got {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("value %d is %g", i, v)
				}
			}
		})
	}
}

// TestLogMelPaddedEqualsUnpadded: LogMel is LogMelUnpadded of the zero-padded/cut chunk.
func TestLogMelPaddedEqualsUnpadded(t *testing.T) {
	m, err := NewMel(MelConfig{NSamples: 16000})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{100, 5000, 16000, 20000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 0.1)
		}
		chunk := make([]float32, 16000)
		copy(chunk, x)
		a, b := m.LogMel(x), m.AppendLogMelUnpadded([]float32{7}, chunk)
		if b[0] != 7 || len(b) != len(a)+1 {
			t.Fatalf("n=%d: append did not keep dst", n)
		}
		if d, _ := melMaxDiff(a, b[1:]); d != 0 {
			t.Errorf("n=%d: padded and unpadded differ by %g", n, d)
		}
	}
}

func TestLogMelConcurrent(t *testing.T) {
	m, err := NewMel(MelConfig{NSamples: 51200})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 40000)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.05) * 0.3)
	}
	want := m.LogMel(x)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for range 4 {
				if d, _ := melMaxDiff(m.LogMel(x), want); d != 0 {
					errs <- fmt.Errorf("goroutine %d: differs by %g", g, d)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMelConfigParse(t *testing.T) {
	tests := []struct {
		name    string
		parse   func([]byte) (MelConfig, error)
		json    string
		want    MelConfig
		wantErr bool
	}{
		{"whisper preprocessor", MelConfigFromPreprocessor,
			`{"chunk_length": 30, "feature_extractor_type": "WhisperFeatureExtractor", "feature_size": 80,
			  "hop_length": 160, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000,
			  "padding_side": "right", "padding_value": 0.0, "processor_class": "WhisperProcessor",
			  "return_attention_mask": false, "sampling_rate": 16000}`,
			MelConfig{16000, 400, 160, 80, 480000}, false},
		{"large-v3 128 bins", MelConfigFromPreprocessor,
			`{"chunk_length": 30, "feature_size": 128, "hop_length": 160, "n_fft": 400, "n_samples": 480000,
			  "nb_max_frames": 3000, "sampling_rate": 16000}`,
			MelConfig{16000, 400, 160, 128, 480000}, false},
		{"chunk length only", MelConfigFromPreprocessor,
			`{"chunk_length": 3.2, "feature_size": 80, "hop_length": 160, "n_fft": 400, "sampling_rate": 16000}`,
			MelConfig{16000, 400, 160, 80, 51200}, false},
		{"inconsistent frames", MelConfigFromPreprocessor,
			`{"feature_size": 80, "n_samples": 480000, "nb_max_frames": 1500}`, MelConfig{}, true},
		{"dither", MelConfigFromPreprocessor, `{"feature_size": 80, "dither": 0.0001}`, MelConfig{}, true},
		{"other extractor", MelConfigFromPreprocessor,
			`{"feature_extractor_type": "Wav2Vec2FeatureExtractor"}`, MelConfig{}, true},
		{"checkpoint block", MelConfigFromCheckpoint,
			`{"model_type": "dlm_asr", "feature_extractor": {"feature_extractor_type": "WhisperFeatureExtractor",
			  "hop_length": 160, "max_frames": 100, "mel_norm": "slaney", "mel_scale": "slaney", "n_fft": 400,
			  "n_mels": 80, "n_samples": 16000, "sampling_rate": 16000, "window": "hann (periodic)"}}`,
			MelConfig{16000, 400, 160, 80, 16000}, false},
		{"checkpoint max_frames only", MelConfigFromCheckpoint,
			`{"feature_extractor": {"n_mels": 80, "max_frames": 320}}`, MelConfig{16000, 400, 160, 80, 51200}, false},
		{"checkpoint without block", MelConfigFromCheckpoint, `{"model_type": "whisper"}`, MelConfig{}, true},
		{"htk scale", MelConfigFromCheckpoint, `{"feature_extractor": {"mel_scale": "htk"}}`, MelConfig{}, true},
		{"bad json", MelConfigFromCheckpoint, `{`, MelConfig{}, true},
		{"image processor", MelConfigFromPreprocessor,
			`{"image_processor_type": "SiglipImageProcessor", "size": {"height": 48, "width": 48}}`, MelConfig{}, true},
		{"unrelated block", MelConfigFromCheckpoint, `{"feature_extractor": {"size": 3}}`, MelConfig{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse([]byte(tt.json))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMelConfigDefaults(t *testing.T) {
	m, err := NewMel(MelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Config(), (MelConfig{16000, 400, 160, 80, 480000}); got != want {
		t.Errorf("zero config = %+v, want %+v", got, want)
	}
	if got := (MelConfig{}).Frames(); got != 3000 {
		t.Errorf("Frames() = %d, want 3000", got)
	}
	for _, bad := range []MelConfig{{NFFT: 1}, {Hop: -1}, {NMels: 300}, {NSamples: 100}} {
		if _, err := NewMel(bad); err == nil {
			t.Errorf("NewMel(%+v) accepted", bad)
		}
	}
}

// TestLoadMelConfigDirs reads the bundled speech checkpoints (whichever are present).
func TestLoadMelConfigDirs(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/models/*")
	n := 0
	for _, d := range dirs {
		pre, errPre := os.ReadFile(filepath.Join(d, "preprocessor_config.json"))
		b, _ := os.ReadFile(filepath.Join(d, "config.json"))
		speech := bytes.Contains(pre, []byte(`"WhisperFeatureExtractor"`)) ||
			(errPre != nil && bytes.Contains(b, []byte(`"feature_extractor"`)))
		if !speech {
			if _, err := LoadMelConfig(d); err == nil {
				t.Errorf("%s: not a speech checkpoint, LoadMelConfig accepted it", d)
			}
			continue
		}
		n++
		cfg, err := LoadMelConfig(d)
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		t.Logf("%s: %+v (%d frames)", filepath.Base(d), cfg, cfg.Frames())
	}
	if n == 0 {
		t.Fatal("no speech checkpoint found")
	}
}

func BenchmarkLogMel(b *testing.B) {
	for _, sec := range []float64{3.2, 30} {
		b.Run(fmt.Sprintf("%gs", sec), func(b *testing.B) {
			n := int(sec * 16000)
			m, err := NewMel(MelConfig{NSamples: n})
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, 4))
			x := make([]float32, n) // full-length audio: no silent frames to skip
			for i := range x {
				x[i] = float32(r.NormFloat64() * 0.1)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.LogMel(x)
			}
			b.ReportMetric(sec*float64(b.N)/b.Elapsed().Seconds(), "audio-s/s")
		})
	}
}
