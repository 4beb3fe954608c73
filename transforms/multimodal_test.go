package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/connectors/kafka"
	"dlmstream/engine"
)

var (
	mmText   = filepath.Join("..", "testdata", "models", "demo-text")
	mmSpeech = filepath.Join("..", "testdata", "models", "demo-speech-v2")
	mmVision = filepath.Join("..", "testdata", "models", "demo-vision")
)

// commandSchema and sceneSchema are what a data-lake user extracts from a
// spoken command and a pictured scene.
const (
	commandSchema = `{"type":"object","properties":{"action":{"enum":["turn on","turn off","open","close"]},"room":{"type":"string","maxLength":20},"device":{"type":"string","maxLength":20}},"required":["action","room","device"],"additionalProperties":false}`
	sceneSchema   = `{"type":"object","properties":{"shapes":{"type":"array","items":{"type":"string","maxLength":20},"maxItems":4},"digit":{"type":"integer","minimum":0,"maximum":9}},"required":["shapes"],"additionalProperties":false}`
)

// An audio or image input to the extraction pipeline is transcribed or
// captioned by its checkpoint, and the text checkpoint extracts a record
// from that text: schema-valid, with the transcript or caption kept, and
// the same transcript or caption the transcription and caption pipelines
// give for the input.
func TestExtractFromAudioAndImage(t *testing.T) {
	eng, err := engine.Shared(mmText, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Model: mmText, SpeechModel: mmSpeech, VisionModel: mmVision, DeadLetterTopic: "dlq"}
	for _, c := range []struct {
		file, ct, schema string
		media, text      string
	}{
		{"speech/stereo-44k.flac", "audio/flac", commandSchema, MediaAudio, "turn on the hallway oven"},
		{"speech/clip.mp3", "", commandSchema, MediaAudio, "paul lives in paris"}, // no content type: sniffed
		{"vision/0038.jpg", "image/jpeg", sceneSchema, MediaImage, "three red squares on the left, a yellow circle at the top and a green square at the bottom, with the number 9 in the center"},
		{"vision/0008.png", "", sceneSchema, MediaImage, "two blue circles on the left, a green circle in the center and three green triangles on the right"},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "demo", c.file))
			if err != nil {
				t.Fatal(err)
			}
			in := kafka.Envelope{Value: b}.WithHeader(kafka.HeaderRequestID, c.file).WithHeader(kafka.HeaderSchema, c.schema)
			if c.ct != "" {
				in = in.WithHeader(kafka.HeaderContentType, c.ct)
			}
			task, err := Prepare(cfg, KindExtract, in)
			if err != nil {
				t.Fatal(err)
			}
			if task.Media != c.media {
				t.Fatalf("media %q, want %q", task.Media, c.media)
			}
			v, _, err := Run(context.Background(), eng, cfg, task)
			if err != nil {
				t.Fatal(err)
			}
			var o Output
			if err := json.Unmarshal(v, &o); err != nil {
				t.Fatal(err)
			}
			got, model := o.Transcript, mmSpeech
			if c.media == MediaImage {
				got, model = o.Caption, mmVision
			}
			if got != c.text || o.SourceModel != model || o.Model != mmText || !o.Final || o.Forwards == 0 {
				t.Errorf("source text %q by %q (model %q, final %v, %d forwards), want %q by %q", got, o.SourceModel, o.Model, o.Final, o.Forwards, c.text, model)
			}
			if (c.media == MediaAudio) != (o.Audio != nil) || (c.media == MediaImage) != (o.Image != nil) {
				t.Errorf("audio info %v, image info %v for %s", o.Audio, o.Image, c.media)
			}
			s, err := compileSchema(task.Schema)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(o.JSON); err != nil {
				t.Errorf("record %s does not validate: %v", o.JSON, err)
			}
			t.Logf("%q -> %s", got, o.JSON)
		})
	}
}

// An audio or image extraction input that cannot be turned into text is a
// dead letter naming the stage that failed and why.
func TestExtractFromMediaRejections(t *testing.T) {
	eng, err := engine.Shared(mmText, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := os.ReadFile(filepath.Join("..", "testdata", "demo", "speech", "0007.wav"))
	if err != nil {
		t.Fatal(err)
	}
	scene, err := os.ReadFile(filepath.Join("..", "testdata", "demo", "vision", "0008.png"))
	if err != nil {
		t.Fatal(err)
	}
	full := Config{Model: mmText, SpeechModel: mmSpeech, VisionModel: mmVision, DeadLetterTopic: "dlq"}
	textOnly := Config{Model: mmText, DeadLetterTopic: "dlq"}
	wrong := Config{Model: mmText, SpeechModel: mmText, VisionModel: mmText, DeadLetterTopic: "dlq"} // no encoders
	for _, c := range []struct {
		name          string
		cfg           Config
		value         []byte
		ct            string
		stage, reason string
		atPrepare     bool
	}{
		{"audio, no speech model", textOnly, clip, "audio/wav", StageDecode, ReasonNoASREncoder, true},
		{"image, no vision model", textOnly, scene, "image/png", StageDecode, ReasonNoVisionModel, true},
		{"sniffed audio, no speech model", textOnly, clip, "", StageDecode, ReasonNoASREncoder, true},
		{"audio cut mid-header", full, clip[:30], "audio/wav", StageDecode, ReasonTruncated, true},
		{"not an image", full, []byte("this is text pretending to be an image"), "image/png", StageDecode, ReasonNotImage, true},
		{"unknown content type", full, clip, "video/mp4", StageDecode, ReasonContentType, true},
		{"speech model without an encoder", wrong, clip, "audio/wav", StageTranscribe, ReasonNoASREncoder, false},
		{"vision model without a tower", wrong, scene, "image/png", StageCaption, ReasonNoVisionModel, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := kafka.Envelope{Value: c.value}.WithHeader(kafka.HeaderSchema, commandSchema)
			if c.ct != "" {
				in = in.WithHeader(kafka.HeaderContentType, c.ct)
			}
			task, err := Prepare(c.cfg, KindExtract, in)
			if c.atPrepare != (err != nil) {
				t.Fatalf("Prepare: %v (want it to fail: %v)", err, c.atPrepare)
			}
			if err == nil {
				_, _, err = Run(context.Background(), eng, c.cfg, task)
			}
			var r *Rejection
			if !errors.As(err, &r) || r.Stage != c.stage || r.Reason != c.reason {
				t.Fatalf("err = %v, want a %s/%s rejection", err, c.stage, c.reason)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Errorf("error %q does not name its reason", err)
			}
		})
	}
}
