package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"dlmstream/asr"
	"dlmstream/connectors/kafka"
	"dlmstream/engine"
	"dlmstream/vision"
)

// Extraction from audio and images. The extraction pipeline takes a spoken
// or pictured input as well as text: its first stage transcribes the audio
// with Config.SpeechModel or captions the image with Config.VisionModel,
// then the text checkpoint (Config.Model) extracts JSON from that text
// against the schema, as it does from a text input. The engines are the
// process's shared ones (engine.Shared, one per checkpoint). The record
// keeps the intermediate text (Output.Transcript or Output.Caption) and the
// checkpoint that made it (Output.SourceModel). A failure of the first
// stage is a dead letter of stage StageTranscribe or StageCaption; one of
// the extraction is StageEngine, as for a text input.

// Stages of an extraction from audio or an image, named in its dead letters.
const (
	StageTranscribe = "transcribe"
	StageCaption    = "caption"
)

// Media of an extraction input (Task.Media).
const (
	MediaText  = ""
	MediaAudio = "audio"
	MediaImage = "image"
)

// ReasonNoVisionModel: an extraction input is an image but the pipeline has
// no Config.VisionModel. (Audio without Config.SpeechModel is ReasonNoASREncoder.)
const ReasonNoVisionModel = "no-vision-model"

// ReasonEmptySource: the transcript or caption of an extraction input is
// empty (silence, say), so there is nothing to extract from.
const ReasonEmptySource = "empty-source"

// mediaOf tells what an extraction input is: its content type when it has
// one (audio/..., image/...; anything else is text), else its magic bytes.
func mediaOf(ct string, data []byte) string {
	ct = strings.TrimSpace(strings.ToLower(strings.SplitN(ct, ";", 2)[0]))
	switch {
	case strings.HasPrefix(ct, "audio/"):
		return MediaAudio
	case strings.HasPrefix(ct, "image/"):
		return MediaImage
	case ct != "":
		return MediaText
	case asr.Sniff(data) != "":
		return MediaAudio
	case vision.Sniff(data) != "":
		return MediaImage
	}
	return MediaText
}

// prepareMedia decodes an extraction input that is audio or an image (a
// check only: the samples or pixels are decoded again when the task runs),
// after its schema has been validated. Errors are *Rejection.
func prepareMedia(cfg Config, t *Task) error {
	e := t.In
	switch t.Media {
	case MediaAudio:
		if cfg.SpeechModel == "" {
			return reject(StageDecode, ReasonNoASREncoder, "the input is audio and the extraction pipeline has no speech checkpoint (Config.SpeechModel, --speech-model)")
		}
		_, info, err := decodeInput(e.Value, e.Header(kafka.HeaderContentType), cfg.MaxAudioSeconds)
		if err != nil {
			return err
		}
		t.Audio = info
		t.Draft = strings.TrimSpace(e.Header(kafka.HeaderDraftTranscript))
	case MediaImage:
		if cfg.VisionModel == "" {
			return reject(StageDecode, ReasonNoVisionModel, "the input is an image and the extraction pipeline has no vision checkpoint (Config.VisionModel, --vision-model)")
		}
		_, info, err := DecodeImage(e.Value, cfg.MaxPixels)
		if err != nil {
			return err
		}
		t.Image = info
	}
	return nil
}

// sourceConfig is cfg for the checkpoint of t's first stage.
func sourceConfig(cfg Config, media string) Config {
	c := cfg
	c.Model = cfg.SpeechModel
	if media == MediaImage {
		c.Model = cfg.VisionModel
	}
	return c
}

// runMediaExtract transcribes or captions t's input, then extracts JSON
// from the text with g (the text engine).
func runMediaExtract(ctx context.Context, g Generator, cfg Config, t Task) ([]byte, time.Duration, error) {
	start := time.Now()
	stage := StageTranscribe
	if t.Media == MediaImage {
		stage = StageCaption
	}
	text, err := sourceText(ctx, cfg, t)
	if err != nil {
		if ctx.Err() != nil {
			return nil, time.Since(start), err
		}
		r := AsRejection(err, stage)
		if r.Reason == ReasonCorrupt && r.Stage == stage {
			r.Reason = ReasonEngineError
		}
		return nil, time.Since(start), &Rejection{Stage: stage, Reason: r.Reason, Err: r.Err}
	}
	if text == "" {
		return nil, time.Since(start), reject(stage, ReasonEmptySource, "the %s is empty: nothing to extract from", sourceName(t.Media))
	}
	e, ok := g.(*engine.Engine)
	if !ok {
		return nil, time.Since(start), reject(StageEngine, ReasonEngineError, "model %s is not an engine checkpoint: schema extraction needs one", cfg.Model)
	}
	tx := t
	tx.Input = text
	out, err := extractOutput(ctx, e, cfg, tx, start)
	if err != nil {
		return nil, time.Since(start), err
	}
	out.SourceModel = sourceConfig(cfg, t.Media).Model
	if t.Media == MediaAudio {
		out.Transcript, out.Audio, out.Prior, out.Draft = text, &t.Audio, "", t.Draft
	} else {
		out.Caption, out.Image = text, &t.Image
	}
	b, err := json.Marshal(out)
	return b, time.Since(start), err
}

func sourceName(media string) string {
	if media == MediaImage {
		return "caption"
	}
	return "transcript"
}

// sourceText runs t's first stage on the shared engine of its checkpoint.
func sourceText(ctx context.Context, cfg Config, t Task) (string, error) {
	sc := sourceConfig(cfg, t.Media)
	g, err := openGenerator(sc)
	if err != nil {
		return "", err
	}
	e, ok := g.(*engine.Engine)
	if !ok {
		return "", fmt.Errorf("model %s is not an engine checkpoint", sc.Model)
	}
	var raw []byte
	if t.Media == MediaAudio {
		rec, err := asr.For(e)
		if err != nil {
			return "", reject(StageTranscribe, ReasonNoASREncoder, "speech model %s: %v", sc.Model, err)
		}
		raw, _, err = runTranscribe(ctx, rec, sc, t, nil)
		if err != nil {
			return "", err
		}
	} else {
		c, err := vision.For(e)
		if err != nil {
			return "", reject(StageCaption, ReasonNoVisionModel, "vision model %s: %v", sc.Model, err)
		}
		raw, _, err = runCaption(ctx, c, sc, t, nil)
		if err != nil {
			return "", err
		}
	}
	var o Output
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", err
	}
	return strings.TrimSpace(o.Text), nil
}
