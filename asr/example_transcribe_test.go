package asr_test

import (
	"context"
	"fmt"
	"os"

	"dlmstream/asr"
	"dlmstream/engine"
)

// Transcribe a WAV clip with the bundled demo speech checkpoint: the CTC
// head's hypothesis is the prior, the language model decodes in blocks.
func ExampleTranscribe() {
	eng, err := engine.New("../testdata/models/demo-speech", engine.Options{})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	b, err := os.ReadFile("../testdata/heldout/speech/0002.wav")
	if err != nil {
		panic(err)
	}
	audio, err := asr.Decode(b, asr.DecodeOptions{})
	if err != nil {
		panic(err)
	}
	tr, err := asr.Transcribe(context.Background(), eng, audio.Samples, asr.Options{Prior: asr.CTCPrior{}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q (prior %s, %d window)\n", tr.Text, tr.Prior, tr.Windows)
	// Output: "paul lives in paris" (prior ctc, 1 window)
}
