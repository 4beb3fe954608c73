package transforms

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"dlmstream/asr"
	"dlmstream/connectors/kafka"
)

// Segment is one window of a transcript in a result record.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}

// runTranscribe transcribes t's audio with the checkpoint's speech encoder:
// the draft-transcript header, when present, is the prior; otherwise the
// checkpoint's CTC head.
// With partial set, each committed block sends the transcript so far.
func runTranscribe(ctx context.Context, rec *asr.Recognizer, cfg Config, t Task, partial func([]byte)) ([]byte, time.Duration, error) {
	start := time.Now()
	// Prepare validated the audio; the samples are decoded again here rather
	// than carried in the Task (a 10-minute input is 38 MB of samples).
	samples, _, err := decodeInput(t.In.Value, t.In.Header(kafka.HeaderContentType), cfg.MaxAudioSeconds)
	if err != nil {
		return nil, time.Since(start), err
	}
	opts := asr.Options{Prior: asr.CTCPrior{}}
	if t.Draft != "" {
		opts.Prior = asr.DraftPrior{Text: t.Draft}
	}
	id := t.In.Header(kafka.HeaderRequestID)
	if partial != nil {
		// Windows finish out of order; a window's text joins the partial
		// transcript once every earlier window is final.
		var done []string
		var cur strings.Builder
		var mu sync.Mutex
		opts.Stream = func(p asr.Partial) {
			mu.Lock()
			defer mu.Unlock()
			if p.Window != len(done) {
				return // a later window: its final text arrives with the record
			}
			if p.Final {
				done = append(done, strings.TrimSpace(cur.String()))
				cur.Reset()
				return
			}
			cur.WriteString(p.Text)
			so := strings.Join(append(slices.Clone(done), strings.TrimSpace(cur.String())), " ")
			if b, err := json.Marshal(Output{RequestID: id, Task: t.Kind, Text: strings.Join(strings.Fields(so), " "), Model: cfg.Model}); err == nil {
				partial(b)
			}
		}
	}
	var tr asr.Transcript
	err = untilNotBusy(ctx, func() (err error) { tr, err = rec.Transcribe(ctx, samples, opts); return err })
	if err != nil {
		return nil, time.Since(start), err
	}
	took := time.Since(start)
	out := Output{RequestID: id, Task: t.Kind, Text: tr.Text, Tokens: tr.Tokens, Final: true,
		Forwards: tr.Forwards, EngineMS: float64(took.Microseconds()) / 1000, Model: cfg.Model,
		Prior: tr.Prior, Draft: t.Draft, Audio: &t.Audio}
	for _, s := range tr.Segments {
		out.Segments = append(out.Segments, Segment{Start: s.Start, End: s.End, Text: s.Text})
	}
	b, err := json.Marshal(out)
	return b, took, err
}
