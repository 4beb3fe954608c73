package asr

import (
	"errors"
	"io"
	"math"
	"strings"
)

// windower cuts a sample stream into windows of at most size samples, one
// utterance each, as the speech checkpoints were trained (an utterance from
// its start, short margins): speech regions are runs of voiced 10 ms frames
// (see HasSpeech) joined across pauses shorter than 400 ms, with 50 ms
// margins before (100 ms after); input that fits one window is one window; the audio
// between regions comes out as windows marked non-speech. An utterance
// longer than a window is cut at its quietest pause in the window's second
// half, or, with no pause, into windows sharing overlap samples (their
// transcripts are merged by stitch). It holds at most one window and one
// read chunk. With a live source (errNoMoreYet) next returns nil until a
// cut can be decided: after an utterance's closing pause, or a full window.
type windower struct {
	src      Source
	size     int
	overlap  int
	buf      []float32 // samples from absolute position pos
	pos      int
	eof      bool
	floor    float64 // running noise floor, dBFS
	overlaps []bool  // overlaps[i]: windows i and i+1 share audio
	count    int     // windows emitted
}

func (w *windower) windows() int { return w.count }

// rawWindow is a window's samples and its first sample's absolute index.
type rawWindow struct {
	samples []float32
	start   int
	speech  bool
	whole   bool // the whole input, not cut by the segmenter
}

// Segmentation constants, in 10 ms frames of 16 kHz audio.
const (
	segFrame  = SampleRate / 100
	segMargin = 5  // kept before an utterance (the training clips' margin)
	segTrail  = 10 // kept after its last voiced frame (weak final sounds decay below the gate)
	segPause  = 40 // an unvoiced run this long ends an utterance
	// liveMinFrames is the least audio a live stream's buffer holds before
	// it is cut (the noise floor needs some): 1 s.
	liveMinFrames = 100
)

// errNoMoreYet is a live Source's answer when the stream is open but has no
// samples buffered: the windower cuts what it can decide on and waits.
var errNoMoreYet = errors.New("asr: no more samples yet")

func newWindower(src Source, size, overlap int) *windower {
	if overlap <= 0 || overlap >= size {
		overlap = size / 4
	}
	return &windower{src: src, size: size, overlap: overlap, floor: math.Inf(1)}
}

// fill reads until the buffer holds a window or the source ends.
func (w *windower) fill() error {
	chunk := make([]float32, 16000)
	for len(w.buf) < w.size && !w.eof {
		n, err := w.src.Read(chunk[:min(len(chunk), w.size-len(w.buf))])
		w.buf = append(w.buf, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			w.eof = true
		} else if errors.Is(err, errNoMoreYet) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// next returns the next window, or nil at the end.
func (w *windower) next() (*rawWindow, error) {
	if err := w.fill(); err != nil {
		return nil, err
	}
	if len(w.buf) == 0 {
		return nil, nil
	}
	if w.eof && w.count == 0 && len(w.buf) <= w.size { // a clip that fits one window
		out := w.take(len(w.buf), len(w.buf), true)
		out.whole = true
		return out, nil
	}
	// partial: a live source has no more samples yet. A window is cut from
	// a partial buffer only where the whole buffer could not change the cut
	// (the silence before an utterance, an utterance whose pause is in).
	partial := !w.eof && len(w.buf) < w.size
	e := frameEnergies(w.buf, segFrame)
	if partial && len(e) < liveMinFrames {
		return nil, nil
	}
	floor := w.floor
	if len(e) > 0 {
		floor = math.Min(floor, percentile(e, 0.1))
	}
	loud := func(i int) bool { return i >= 0 && i < len(e) && e[i] > floor+9 && e[i] > -50 }
	// A voiced frame has a loud neighbour: a lone loud 10 ms frame is a
	// blip of the noise, and must not split a pause.
	voiced := func(i int) bool { return loud(i) && (loud(i-1) || loud(i+1)) }
	first := -1
	for i := range e {
		if voiced(i) {
			first = i
			break
		}
	}
	if partial && !hasPause(e, voiced) {
		// Without a pause in the buffer its noise floor is not known yet
		// (a buffer of speech alone puts it too high, and the onset would
		// be cut as silence): wait for the pause or a full window.
		return nil, nil
	}
	switch {
	case first < 0 && partial: // speech may start in the samples to come
		return nil, nil
	case first < 0: // no speech in the buffer
		w.floor = floor
		return w.take(len(w.buf), len(w.buf), false), nil
	case first > segMargin: // the silence before the utterance
		w.floor = floor
		n := (first - segMargin) * segFrame
		return w.take(n, n, false), nil
	}
	w.floor = floor
	last, gap := first, 0
	for i := first; i < len(e); i++ {
		if voiced(i) {
			last, gap = i, 0
			continue
		}
		if gap++; gap >= segPause {
			n := min((last+1+segTrail)*segFrame, len(w.buf))
			return w.take(n, n, true), nil
		}
	}
	if partial { // the utterance goes on past the samples there are
		return nil, nil
	}
	if w.eof || len(w.buf) < w.size { // the input ends inside the utterance
		return w.take(len(w.buf), len(w.buf), true), nil
	}
	// An utterance longer than the window.
	cut, clean := pauseCut(w.buf[:w.size])
	if clean {
		return w.take(cut, cut, true), nil
	}
	w.overlaps = append(w.overlaps, true)
	return w.take(w.size, w.size-w.overlap, true), nil
}

// hasPause reports whether e holds segPause unvoiced frames in a row
// before a voiced one or at the end.
func hasPause(e []float64, voiced func(int) bool) bool {
	run := 0
	for i := range e {
		if voiced(i) {
			run = 0
		} else if run++; run >= segPause {
			return true
		}
	}
	return false
}

// take emits the first n buffered samples as a window and advances by adv.
func (w *windower) take(n, adv int, speech bool) *rawWindow {
	out := &rawWindow{samples: append([]float32(nil), w.buf[:n]...), start: w.pos, speech: speech}
	if len(w.overlaps) < w.windows()+1 {
		w.overlaps = append(w.overlaps, false)
	}
	w.buf = append(w.buf[:0], w.buf[adv:]...)
	w.pos += adv
	w.count++
	return out
}

// pauseCut finds the quietest 100 ms in the second half of x and returns
// its middle; clean reports whether it is a pause: at least 15 dB below the
// window's loud frames, or digital silence.
func pauseCut(x []float32) (cut int, clean bool) {
	const run = 10
	e := frameEnergies(x, segFrame)
	if len(e) < 2*run {
		return len(x), false
	}
	loud := percentile(e, 0.9)
	best, bestE := -1, math.Inf(1)
	for i := len(e) / 2; i+run <= len(e); i++ {
		s := math.Inf(-1)
		for _, v := range e[i : i+run] {
			s = math.Max(s, v)
		}
		if s < bestE {
			best, bestE = i, s
		}
	}
	if best < 0 {
		return len(x), false
	}
	return (best + run/2) * segFrame, bestE < loud-15 || bestE < -70
}

// stitch joins window transcripts; where two windows overlapped, the words
// the second repeats from the end of the first are dropped (the longest
// suffix/prefix match, up to 12 words).
func stitch(texts []string, overlaps []bool) string {
	var words []string
	for i, t := range texts {
		next := strings.Fields(t)
		if i > 0 && i-1 < len(overlaps) && overlaps[i-1] {
			next = next[suffixPrefix(words, next, 12):]
		}
		words = append(words, next...)
	}
	return strings.Join(words, " ")
}

// suffixPrefix is the largest k <= limit with a's last k words equal to b's first k.
func suffixPrefix(a, b []string, limit int) int {
	for k := min(limit, len(a), len(b)); k > 0; k-- {
		match := true
		for j := 0; j < k; j++ {
			if a[len(a)-k+j] != b[j] {
				match = false
				break
			}
		}
		if match {
			return k
		}
	}
	return 0
}

// sliceSource reads from a slice.
type sliceSource struct{ s []float32 }

func (s *sliceSource) Read(dst []float32) (int, error) {
	if len(s.s) == 0 {
		return 0, io.EOF
	}
	n := copy(dst, s.s)
	s.s = s.s[n:]
	return n, nil
}
