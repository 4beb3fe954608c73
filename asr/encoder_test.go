package asr

import (
	"math"
	"path/filepath"
	"testing"

	"dlmstream/engine/model"
	"dlmstream/engine/model/safetensors"
)

// Goldens: python tools/reference/asr_encoder_goldens.py (transformers'
// WhisperEncoder in fp32 on the bf16 weights the checkpoints store).

func readGolden(t *testing.T, name string) map[string][]float32 {
	t.Helper()
	f, err := safetensors.Open(filepath.Join("..", "testdata", "golden", "asr", "encoder-"+name+".safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]float32{}
	for _, n := range f.Names() {
		v, err := f.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = append([]float32(nil), v...)
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}

// The encoder, CTC head and projector match transformers on two tiny
// random checkpoints (80 and 128 mel bins; dlm_asr and stock Whisper
// layouts; stack-MLP and dLLM-ASR pool-conv projectors) and on demo-speech.
// Measured max |diff|: encoder 1.4e-6 / 1.6e-6 / 2.5e-6, projector 1.3e-6 /
// 3.4e-7 / 1.5e-5 (tiny-80, tiny-128, demo-speech); tolerance 2e-4.
func TestEncoderParity(t *testing.T) {
	const tol = 2e-4
	for _, name := range []string{"tiny-whisper-80", "tiny-whisper-128", "demo-speech"} {
		t.Run(name, func(t *testing.T) {
			// Exact: the fp32 reference pins the exact kernels (transcripts
			// on the packed path are checked by the held-out tests).
			m, err := LoadWith(filepath.Join("..", "testdata", "models", name), model.LoadOptions{Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			g := readGolden(t, name)
			enc, err := m.Encoder.Encode(g["features"])
			if err != nil {
				t.Fatal(err)
			}
			T := len(enc) / m.Encoder.Cfg.DModel
			if d := maxAbsDiff(enc, g["encoder"]); d > tol {
				t.Errorf("encoder: max |diff| %.3g > %g", d, tol)
			} else {
				t.Logf("encoder [%d, %d]: max |diff| %.3g", T, m.Encoder.Cfg.DModel, d)
			}
			if want, ok := g["ctc"]; ok {
				if m.CTC == nil {
					t.Fatal("no CTC head loaded")
				}
				if d := maxAbsDiff(m.CTC.Logits(enc, T), want); d > tol {
					t.Errorf("ctc: max |diff| %.3g > %g", d, tol)
				}
			}
			if m.Projector.Tokens(T)*m.Projector.OutDim() != len(g["projector"]) {
				t.Fatalf("projector: %d tokens x %d, golden holds %d floats", m.Projector.Tokens(T), m.Projector.OutDim(), len(g["projector"]))
			}
			if d := maxAbsDiff(m.Projector.Project(enc, T), g["projector"]); d > tol {
				t.Errorf("projector: max |diff| %.3g > %g", d, tol)
			} else {
				t.Logf("projector [%d, %d]: max |diff| %.3g", m.Projector.Tokens(T), m.Projector.OutDim(), d)
			}
		})
	}
}

func TestEncoderInputErrors(t *testing.T) {
	m, err := Load(filepath.Join("..", "testdata", "models", "tiny-whisper-80"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Encoder.Encode(make([]float32, 80*99)); err == nil {
		t.Fatal("99 frames accepted; the encoder takes exactly 100")
	}
}
