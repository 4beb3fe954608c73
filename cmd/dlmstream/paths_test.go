package main

// Checkpoints and data the command tests run on (every build tag).
const (
	tinySDAR      = "../../testdata/models/tiny-sdar"
	demoTextModel = "../../testdata/models/demo-text"
	demoSchemas   = "../../testdata/heldout/text/schemas"
	demoSpeech    = "../../testdata/models/demo-speech-v2"
	demoClips     = "../../testdata/demo/speech"
	demoVision    = "../../testdata/models/demo-vision"
	demoScenes    = "../../testdata/demo/vision"
)
