package asr

import (
	"context"
	"fmt"
	"io"
)

// Live transcribes one stream of audio as it arrives (a microphone, a call,
// a topic of audio chunks): Write hands it samples, and every window the
// segmenter can already cut (an utterance followed by its closing pause, or
// a full window of a long one) is transcribed at once, its committed blocks
// going to Options.Stream as they form. Close transcribes what is left and
// returns the whole transcript, stitched as Transcribe stitches it.
//
// A Live holds at most one window of audio and the text so far. It is not
// safe for concurrent use: a stream's samples come in order.
type Live struct {
	r    *Recognizer
	opts Options
	src  *liveSource
	win  *windower
	rate float64

	segs   []Segment
	texts  []string
	closed bool
}

// NewLive starts a live transcription with the options Transcribe takes.
// Windows are numbered in Partial.Window from 0 in stream order.
func (r *Recognizer) NewLive(opts Options) *Live {
	if opts.Prior == nil {
		opts.Prior = CTCPrior{}
	}
	mc := r.Mel.Config()
	src := &liveSource{}
	return &Live{r: r, opts: opts, src: src, rate: float64(mc.SampleRate),
		win: newWindower(src, mc.NSamples, int(opts.Overlap*float64(mc.SampleRate)))}
}

// Write appends 16 kHz mono samples to the stream and transcribes the
// windows they complete; it returns those windows' segments (often none:
// an utterance is cut once its closing pause has arrived).
func (l *Live) Write(ctx context.Context, samples []float32) ([]Segment, error) {
	if l.closed {
		return nil, fmt.Errorf("asr: write to a closed live stream")
	}
	l.src.buf = append(l.src.buf, samples...)
	return l.drain(ctx)
}

// Close ends the stream: the audio still buffered is transcribed, and the
// transcript of the whole stream returned. A Live is done after Close.
func (l *Live) Close(ctx context.Context) (Transcript, error) {
	if !l.closed {
		l.closed, l.src.eof = true, true
		if _, err := l.drain(ctx); err != nil {
			return Transcript{}, err
		}
	}
	t := Transcript{Prior: l.opts.Prior.Name(), Segments: l.segs}
	for _, s := range l.segs {
		t.Tokens += len(s.Tokens)
		t.Forwards += s.Forwards
		t.MinForwards += s.MinForwards
		t.Encode += s.Encode
		t.Decode += s.Decode
		if s.Speech {
			t.Windows++
		}
	}
	t.Text = l.Text()
	return t, nil
}

// SetStream replaces Options.Stream for the windows still to come (nil:
// none), so each caller of Write can take the blocks its samples complete.
func (l *Live) SetStream(f func(Partial)) { l.opts.Stream = f }

// Text is the transcript of the windows finished so far.
func (l *Live) Text() string { return stitch(l.texts, l.win.overlaps) }

// Final is how many of the stream's samples lie in finished windows: the
// audio before it is transcribed, what follows waits in the buffer (a
// caller that acknowledges input only once it is transcribed acknowledges
// up to here).
func (l *Live) Final() int { return l.win.pos }

// Received is how many samples the stream has been given.
func (l *Live) Received() int { return l.win.pos + len(l.win.buf) + len(l.src.buf) }

// drain transcribes every window the windower can cut now.
func (l *Live) drain(ctx context.Context) ([]Segment, error) {
	var out []Segment
	for {
		w, err := l.win.next()
		if err != nil {
			return out, err
		}
		if w == nil {
			return out, nil
		}
		idx := len(l.segs)
		seg, err := l.r.window(ctx, idx, w, l.opts)
		if err != nil {
			return out, fmt.Errorf("window %d (%.2f-%.2f s): %w", idx, seg.Start, seg.End, err)
		}
		l.segs = append(l.segs, seg)
		l.texts = append(l.texts, seg.Text)
		out = append(out, seg)
	}
}

// liveSource is the windower's source for a Live: what Write appended, then
// errNoMoreYet until Close.
type liveSource struct {
	buf []float32
	eof bool
}

func (s *liveSource) Read(dst []float32) (int, error) {
	if len(s.buf) == 0 {
		if s.eof {
			return 0, io.EOF
		}
		return 0, errNoMoreYet
	}
	n := copy(dst, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}
