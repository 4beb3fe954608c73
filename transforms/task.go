package transforms

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Task kinds: what a pipeline asks of the engine.
const (
	KindTranscribe = "transcribe"
	KindCaption    = "caption"
	KindExtract    = "extract"
)

// Defaults of [Config].
const (
	DefaultMaxMessageBytes = 16 << 20
	DefaultMaxPixels       = 50_000_000
	DefaultMaxAudioSeconds = 600
	DefaultMaxNewTokens    = 64
	DefaultMaxInFlight     = 1
)

// Config configures the transforms. It is serialized into the DoFns.
type Config struct {
	// Model is the checkpoint directory (engine.Shared), or a name given to RegisterGenerator.
	Model string `json:"model"`
	// SpeechModel and VisionModel are the checkpoints the extraction
	// pipeline transcribes audio inputs and captions image inputs with,
	// before Model extracts JSON from the text (see multimodal.go). Without
	// one, such inputs are dead letters (ReasonNoASREncoder, ReasonNoVisionModel).
	SpeechModel string `json:"speech_model,omitempty"`
	VisionModel string `json:"vision_model,omitempty"`
	// WeightType and MaxQueue are passed to engine.Options.
	WeightType string `json:"weight_type,omitempty"`
	MaxQueue   int    `json:"max_queue,omitempty"`
	// Backend is where the engine's forward runs: "cpu" (default), "cuda"
	// or "auto" (engine.Options.Backend).
	Backend string `json:"backend,omitempty"`
	// MaxInFlight is how many engine requests one DoFn instance keeps open at a time
	// (the engine batches concurrent requests). Default 1: with the tiny bundled
	// checkpoint on 2 cores, 8 in flight gave lower p50 latency but lower throughput
	// (pipelines.BenchmarkExtractionRealBroker); raise it for larger, memory-bound models.
	MaxInFlight int `json:"max_in_flight,omitempty"`
	// MaxNewTokens bounds each engine answer. Default 64.
	MaxNewTokens int `json:"max_new_tokens,omitempty"`
	// MaxMessageBytes rejects larger inputs (ReasonOversize). Default 16 MiB.
	MaxMessageBytes int `json:"max_message_bytes,omitempty"`
	// MaxPixels rejects images whose header claims more pixels. Default 50,000,000.
	MaxPixels int64 `json:"max_pixels,omitempty"`
	// MaxAudioSeconds rejects longer audio. Default 600.
	MaxAudioSeconds float64 `json:"max_audio_seconds,omitempty"`
	// OutputTopic is set on results ("" leaves the sink's default topic).
	OutputTopic string `json:"output_topic,omitempty"`
	// DeadLetterTopic is set on dead letters. Required.
	DeadLetterTopic string `json:"dead_letter_topic"`
	// LiveIdle ends a live stream (see HeaderStreamID) that got no chunk for
	// this long (default DefaultLiveIdle); MaxLiveStreams bounds the open
	// streams of a process, the least recently fed ending first (default
	// DefaultMaxLiveStreams). Each open stream holds at most one window of
	// audio.
	LiveIdle       time.Duration `json:"live_idle,omitempty"`
	MaxLiveStreams int           `json:"max_live_streams,omitempty"`
	// Partials sends a partial record (same key, "final": false, the text so
	// far) as each block of a caption or transcript is committed, before the
	// final record: live captions from a stream. Pipelines set it with
	// --streaming. Only the final record commits the input's offset.
	Partials bool `json:"partials,omitempty"`
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if c.Model == "" {
		return errors.New("transforms: no model")
	}
	if c.DeadLetterTopic == "" {
		return errors.New("transforms: no dead-letter topic")
	}
	if c.MaxNewTokens < 0 || c.MaxInFlight < 0 || c.MaxMessageBytes < 0 || c.MaxPixels < 0 || c.MaxAudioSeconds < 0 {
		return errors.New("transforms: negative limit")
	}
	return nil
}

func (c Config) maxInFlight() int {
	if c.MaxInFlight <= 0 {
		return DefaultMaxInFlight
	}
	return c.MaxInFlight
}

func (c Config) liveIdle() time.Duration {
	if c.LiveIdle <= 0 {
		return DefaultLiveIdle
	}
	return c.LiveIdle
}

func (c Config) maxLiveStreams() int {
	if c.MaxLiveStreams <= 0 {
		return DefaultMaxLiveStreams
	}
	return c.MaxLiveStreams
}

func (c Config) withDefaults() Config {
	if c.MaxNewTokens == 0 {
		c.MaxNewTokens = DefaultMaxNewTokens
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxPixels == 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.MaxAudioSeconds == 0 {
		c.MaxAudioSeconds = DefaultMaxAudioSeconds
	}
	return c
}

// Task is a decoded input and the engine request made from it.
type Task struct {
	In   kafka.Envelope
	Kind string
	// System and User are the chat turns sent to the engine.
	System string
	User   string
	// Draft is a transcript from elsewhere (the draft-transcript header)
	// that guides ASR denoising as its prior, if any.
	Draft string
	Audio AudioInfo
	Image ImageInfo
	// Stream is the live stream an audio chunk belongs to (the stream-id
	// header; "" for a whole input), Seq its position (-1: arrival order),
	// EndOfStream whether it is the stream's last chunk.
	Stream      string
	Seq         int64
	EndOfStream bool
	// Schema is the validated, compacted JSON Schema for extraction; Input
	// is the text to extract from. Media is what the extraction input is
	// (MediaText, MediaAudio, MediaImage): audio and images are transcribed
	// or captioned first, and Input is their text then.
	Schema string
	Input  string
	Media  string
	// RejectStage, RejectReason and RejectError are set when decoding rejected the
	// input; the task then becomes a dead letter instead of an engine request.
	RejectStage, RejectReason, RejectError string
}

func init() {
	beam.RegisterType(reflect.TypeOf((*Task)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*AudioInfo)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*ImageInfo)(nil)).Elem())
}

// contentTypes lists what each kind accepts; "" (no header) is accepted and sniffed.
var contentTypes = map[string][]string{
	KindTranscribe: {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac", "audio/mpeg", "audio/mp3", "audio/l16"},
	KindCaption:    {"image/jpeg", "image/png", "image/gif", "image/bmp", "image/x-ms-bmp", "image/tiff", "image/webp"},
	KindExtract:    {"text/plain", "application/json", "text/markdown"},
}

func init() { // extraction also takes what it can transcribe or caption first (multimodal.go)
	contentTypes[KindExtract] = append(contentTypes[KindExtract], contentTypes[KindTranscribe]...)
	contentTypes[KindExtract] = append(contentTypes[KindExtract], contentTypes[KindCaption]...)
}

func acceptsContentType(kind, ct string) bool {
	ct = strings.TrimSpace(strings.ToLower(strings.SplitN(ct, ";", 2)[0]))
	if ct == "" {
		return true
	}
	for _, a := range contentTypes[kind] {
		if a == ct {
			return true
		}
	}
	return false
}

// Prepare decodes an input for kind and builds its engine request. Errors are *Rejection.
func Prepare(cfg Config, kind string, e kafka.Envelope) (Task, error) {
	cfg = cfg.withDefaults()
	t := Task{In: e, Kind: kind}
	if len(e.Value) > cfg.MaxMessageBytes {
		return t, reject(StageDecode, ReasonOversize, "%d bytes, limit %d", len(e.Value), cfg.MaxMessageBytes)
	}
	if se := e.Header(kafka.HeaderSidecarError); se != "" { // the file source could not use NAME.schema.json or NAME.draft.txt
		return t, reject(StageDecode, ReasonBadSidecar, "%s", se)
	}
	if ct := e.Header(kafka.HeaderContentType); !acceptsContentType(kind, ct) {
		return t, reject(StageDecode, ReasonContentType, "%s pipeline does not take content-type %q", kind, ct)
	}
	switch kind {
	case KindTranscribe:
		if e.Header(kafka.HeaderStreamID) != "" {
			err := prepareChunk(cfg, &t)
			return t, err
		}
		_, info, err := decodeInput(e.Value, e.Header(kafka.HeaderContentType), cfg.MaxAudioSeconds)
		if err != nil {
			return t, err
		}
		t.Audio = info
		t.Draft = strings.TrimSpace(e.Header(kafka.HeaderDraftTranscript))
		// For a checkpoint without a speech encoder (a text model), Run
		// corrects the draft as text; with one, it transcribes the audio.
		t.System = "You correct speech-recognition drafts. Answer with the corrected transcript only."
		t.User = fmt.Sprintf("Audio: %.2f s (decoded from %d Hz, %d channel(s), %d-bit; resampled to 16 kHz mono).\nDraft transcript: %s",
			info.Seconds, info.SourceRate, info.Channels, info.BitDepth, t.Draft)
	case KindCaption:
		_, info, err := DecodeImage(e.Value, cfg.MaxPixels)
		if err != nil {
			return t, err
		}
		t.Image = info
		t.System = "You write one-sentence image captions."
		t.User = fmt.Sprintf("Caption this image. Known about it: %s image, %dx%d pixels after EXIF orientation, mean colour RGB(%.2f, %.2f, %.2f). (No vision encoder is loaded yet: only this description reaches the model.)",
			strings.ToUpper(info.Format), info.Width, info.Height, info.MeanRGB[0], info.MeanRGB[1], info.MeanRGB[2])
	case KindExtract:
		t.Media = mediaOf(e.Header(kafka.HeaderContentType), e.Value)
		if t.Media == MediaText {
			if err := ValidateText(e.Value); err != nil {
				return t, err
			}
		}
		doc := e.Header(kafka.HeaderSchema)
		if doc == "" && e.Header(kafka.HeaderSchemaID) != "" {
			return t, reject(StageDecode, ReasonUnknownSchemaID, "schema id %q: no schema registry is configured", e.Header(kafka.HeaderSchemaID))
		}
		schema, err := ValidateSchema([]byte(doc))
		if err != nil {
			return t, err
		}
		if _, err := compileSchema(schema); err != nil { // unsupported keywords, with their JSON pointer
			return t, reject(StageDecode, ReasonInvalidSchema, "%v", err)
		}
		t.Schema = schema
		t.System = "You extract structured data. Answer with one JSON object that matches the JSON Schema."
		if t.Media != MediaText {
			return t, prepareMedia(cfg, &t) // multimodal.go; the text comes when it runs
		}
		t.Input = string(e.Value)
		t.User = "JSON Schema:\n" + schema + "\n\nText:\n" + string(e.Value)
	default:
		return t, reject(StageDecode, ReasonInvalidRequestBody, "unknown task kind %q", kind)
	}
	return t, nil
}
