package asr_test

import (
	"fmt"
	"log"
	"math"

	"dlmstream/asr"
)

// tone returns sec seconds of a 440 Hz sine at half scale, 16 kHz.
func tone(sec float64) []float32 {
	x := make([]float32, int(sec*16000))
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	return x
}

// The demo-speech checkpoint's front end: 80 mel bins over 3.2 s chunks.
func ExampleMel() {
	cfg, err := asr.LoadMelConfig("../testdata/models/demo-speech")
	if err != nil {
		log.Fatal(err)
	}
	mel, err := asr.NewMel(cfg)
	if err != nil {
		log.Fatal(err)
	}
	feats := mel.LogMel(tone(1)) // zero-padded to 3.2 s: [80, 320], mel bin major
	// (transformers gives the same: bin 11 loudest, padding at -0.5618)
	frames := cfg.Frames()
	loudest := 0
	for j := range cfg.NMels {
		if feats[j*frames+50] > feats[loudest*frames+50] {
			loudest = j
		}
	}
	fmt.Println(cfg.NMels, frames, len(feats))
	fmt.Println("loudest bin in frame 50:", loudest)
	fmt.Printf("silent padding frame: %.3f\n", feats[loudest*frames+300])
	// Output:
	// 80 320 25600
	// loudest bin in frame 50: 11
	// silent padding frame: -0.562
}

// Whisper's own front end from a Hugging Face preprocessor_config.json (large-v3: 128 bins).
func ExampleMelConfigFromPreprocessor() {
	cfg, err := asr.MelConfigFromPreprocessor([]byte(`{"feature_extractor_type": "WhisperFeatureExtractor",
		"feature_size": 128, "sampling_rate": 16000, "hop_length": 160, "n_fft": 400,
		"chunk_length": 30, "n_samples": 480000, "nb_max_frames": 3000}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v, %d frames\n", cfg, cfg.Frames())
	// Output: {SampleRate:16000 NFFT:400 Hop:160 NMels:128 NSamples:480000}, 3000 frames
}

// Long audio: the caller cuts its own windows and computes each one unpadded, reusing
// one buffer.
func ExampleMel_AppendLogMelUnpadded() {
	mel, err := asr.NewMel(asr.MelConfig{NSamples: 51200})
	if err != nil {
		log.Fatal(err)
	}
	audio := tone(7)    // 112,000 samples
	window := 51200     // 3.2 s windows
	var feats []float32 // reused
	chunk := make([]float32, window)
	for start := 0; start < len(audio); start += window {
		n := copy(chunk, audio[start:])
		clear(chunk[n:]) // zero-pad the last window
		feats = mel.AppendLogMelUnpadded(feats[:0], chunk)
		fmt.Printf("window at %.1f s: %d values\n", float64(start)/16000, len(feats))
	}
	// Output:
	// window at 0.0 s: 25600 values
	// window at 3.2 s: 25600 values
	// window at 6.4 s: 25600 values
}
