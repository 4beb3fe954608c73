package asr_test

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"dlmstream/asr"
)

func ExampleDecode() {
	data, err := os.ReadFile("testdata/tone-44k-stereo.mp3") // 0.7 s of 440 Hz, 44.1 kHz stereo
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := asr.Decode(data, asr.DecodeOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Info)
	fmt.Printf("%d samples at %d Hz, peak %.2f\n", len(a.Samples), asr.SampleRate, a.Info.Peak)

	_, err = asr.Decode([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), asr.DecodeOptions{})
	var e *asr.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, "-", err)
	}
	// Output:
	// mp3, 0.70 s, 44100 Hz, 2 channel(s)
	// 11200 samples at 16000 Hz, peak 0.48
	// truncated - wav: file ends after 16 bytes, inside the chunk header at byte 12, before the fmt chunk
}

func ExampleNewReader() {
	f, err := os.Open("testdata/speech-16k.flac")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	r, err := asr.NewReader(f, asr.DecodeOptions{MaxSeconds: 60})
	if err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]float32, 4000) // up to 0.25 s at a time
	total := 0
	for {
		n, err := r.Read(buf)
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("%v: %d samples\n", r.Info(), total)
	// Output: flac, 1.04 s, 16000 Hz, 1 channel(s), 16-bit: 16615 samples
}

func ExampleResampler() {
	r, err := asr.NewResampler(48000, asr.SampleRate)
	if err != nil {
		fmt.Println(err)
		return
	}
	var out []float32
	x := make([]float32, 4800) // 0.1 s of a 1 kHz sine at 48 kHz, fed in ten pieces
	for i := range x {
		x[i] = float32(math.Sin(2 * math.Pi * 1000 * float64(i) / 48000))
	}
	for i := 0; i < len(x); i += 480 {
		out = r.Process(out, x[i:i+480])
	}
	out = r.Flush(out)
	oneShot, _ := asr.Resample(x, 48000, asr.SampleRate)
	fmt.Println(len(out), slices.Equal(out, oneShot))
	// Output: 1600 true
}
