package asr

import (
	"errors"
	"io"
	"math"
	"strings"
)

// windower cuts a sample stream into windows of at most size samples: at
// the quietest 100 ms in the second half of a window when that is a pause
// (no overlap), else with overlap samples shared by the two windows (their
// transcripts are merged by stitch). It holds at most one window and one
// read chunk.
type windower struct {
	src      Source
	size     int
	overlap  int
	buf      []float32 // samples from absolute position pos
	pos      int
	eof      bool
	overlaps []bool // overlaps[i]: windows i and i+1 share audio
}

// rawWindow is a window's samples and its first sample's absolute index.
type rawWindow struct {
	samples []float32
	start   int
}

func newWindower(src Source, size, overlap int) *windower {
	if overlap <= 0 || overlap >= size {
		overlap = size / 4
	}
	return &windower{src: src, size: size, overlap: overlap}
}

// fill reads until the buffer holds a window or the source ends.
func (w *windower) fill() error {
	chunk := make([]float32, 16000)
	for len(w.buf) < w.size && !w.eof {
		n, err := w.src.Read(chunk)
		w.buf = append(w.buf, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			w.eof = true
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
	if len(w.buf) <= w.size && w.eof {
		out := &rawWindow{samples: w.buf, start: w.pos}
		w.pos += len(w.buf)
		w.buf = nil
		return out, nil
	}
	cut, clean := pauseCut(w.buf[:w.size])
	adv := cut
	if !clean {
		cut, adv = w.size, w.size-w.overlap
	}
	out := &rawWindow{samples: append([]float32(nil), w.buf[:cut]...), start: w.pos}
	w.overlaps = append(w.overlaps, !clean)
	w.buf = append(w.buf[:0], w.buf[adv:]...)
	w.pos += adv
	return out, nil
}

// pauseCut finds the quietest 100 ms (10 ms frames at 16 kHz) in the second
// half of x and returns its middle; clean reports whether it is a pause:
// at least 15 dB below the window's loud frames, or digital silence.
func pauseCut(x []float32) (cut int, clean bool) {
	const frame, run = 160, 10
	e := frameEnergies(x, frame)
	if len(e) < 2*run {
		return len(x), false
	}
	loud := percentile(e, 0.9)
	best, bestE := -1, math.Inf(1)
	for i := len(e) / 2; i+run <= len(e); i++ {
		var s float64
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
	return (best + run/2) * frame, bestE < loud-15 || bestE < -70
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
