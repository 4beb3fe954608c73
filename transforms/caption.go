package transforms

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/vision"
)

// runCaption captions t's image with the checkpoint's vision tower. With
// partial set, each committed block sends the caption so far.
func runCaption(ctx context.Context, c *vision.Captioner, cfg Config, t Task, partial func([]byte)) ([]byte, time.Duration, error) {
	start := time.Now()
	img, _, err := vision.Decode(t.In.Value, vision.DecodeOptions{MaxPixels: cfg.MaxPixels})
	if err != nil {
		return nil, time.Since(start), imageRejection(err, len(t.In.Value))
	}
	id := t.In.Header(kafka.HeaderRequestID)
	opts := vision.CaptionOptions{MaxNewTokens: cfg.MaxNewTokens}
	if partial != nil {
		var so strings.Builder
		opts.Stream = func(text string) {
			so.WriteString(text)
			if b, err := json.Marshal(Output{RequestID: id, Task: t.Kind, Text: strings.TrimSpace(so.String()), Model: cfg.Model}); err == nil {
				partial(b)
			}
		}
	}
	var cp vision.Caption
	err = untilNotBusy(ctx, func() (err error) { cp, err = c.Caption(ctx, img, opts); return err })
	if err != nil {
		return nil, time.Since(start), err
	}
	took := time.Since(start)
	out := Output{RequestID: id, Task: t.Kind, Text: cp.Text, Tokens: cp.Tokens, Forwards: cp.Forwards,
		EngineMS: float64(took.Microseconds()) / 1000, Model: cfg.Model, Image: &t.Image, Final: true}
	b, err := json.Marshal(out)
	return b, took, err
}
