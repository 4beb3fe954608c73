package main

import (
	"io"
	"sync"
)

// lockedWriter serialises writes to w. run and demo hand one stderr to
// several writers at once (slog, through which prism's workers log from
// their own goroutines, the progress bar, the drain and monitor notices);
// os.Stderr takes that, a caller's buffer (the tests') does not.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// syncWriter is w with its writes serialised (w itself if it already is).
func syncWriter(w io.Writer) io.Writer {
	if _, ok := w.(*lockedWriter); ok {
		return w
	}
	return &lockedWriter{w: w}
}
