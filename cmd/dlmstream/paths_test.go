package main

import "dlmstream/connectors/kafka"

// Checkpoints and data the command tests run on (every build tag).
const (
	tinySDAR         = "../../testdata/models/tiny-sdar"
	demoTextModel    = "../../testdata/models/demo-text"
	demoSchemas      = "../../testdata/heldout/text/schemas"
	demoMediaSchemas = "../../testdata/heldout/text/media"
	demoSpeech       = "../../testdata/models/demo-speech-v2"
	demoClips        = "../../testdata/demo/speech"
	demoVision       = "../../testdata/models/demo-vision"
	demoScenes       = "../../testdata/demo/vision"
)

// demoTextsOnly is the demo's text inputs (four texts with schemas, one with
// a broken schema), without the spoken and pictured extraction inputs that
// share their topic.
func demoTextsOnly(inputs map[string][]kafka.Envelope) []kafka.Envelope {
	var out []kafka.Envelope
	for _, e := range inputs[demoText] {
		if e.Header(kafka.HeaderContentType) == "text/plain" {
			out = append(out, e)
		}
	}
	return out
}
