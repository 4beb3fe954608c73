package asr

import (
	"bufio"
	"io"
)

// input is the byte stream the format readers parse: buffered, counting how far they
// have read, knowing how much is left when the source is an io.Seeker, and skipping
// forward by seeking when it can. Every size a header declares is checked against
// remaining (when known) before anything is skipped or decoded, and skipping never
// allocates, so a header that lies about a size costs nothing beyond the bytes the
// input really holds.
type input struct {
	*bufio.Reader
	src    *countingReader
	seeker io.Seeker // src.r when it seeks, else nil
	size   int64     // bytes the source held where decoding started, -1 unknown
	seeked int64     // bytes passed over by seeking rather than reading
}

func newInput(r io.Reader) *input {
	in := &input{src: &countingReader{r: r}, size: remainingBytes(r)}
	if s, ok := r.(io.Seeker); ok && in.size >= 0 {
		in.seeker = s
	}
	in.Reader = bufio.NewReaderSize(in.src, 16<<10)
	return in
}

// offset is how many bytes of the input have been consumed.
func (in *input) offset() int64 { return in.src.n + in.seeked - int64(in.Buffered()) }

// remaining is how many bytes the input holds past offset, or -1 when unknown.
func (in *input) remaining() int64 {
	if in.size < 0 {
		return -1
	}
	return max(in.size-in.offset(), 0)
}

// skip passes over n bytes, seeking when the source allows, and returns how many it
// passed: fewer than n only when the input ends first.
func (in *input) skip(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if in.seeker == nil || n <= int64(in.Buffered()) {
		k, _ := in.Discard(int(min(n, 1<<62))) // reads through the buffer: no allocation
		return int64(k)
	}
	b, _ := in.Discard(in.Buffered())
	k := min(n-int64(b), in.remaining())
	if _, err := in.seeker.Seek(k, io.SeekCurrent); err != nil {
		in.seeker = nil // seeking failed after all: read through what is left
		return int64(b) + in.skip(n-int64(b))
	}
	in.seeked += k
	return int64(b) + k
}

// remainingBytes is how many bytes r holds from its current offset when it is an
// io.Seeker, else -1.
func remainingBytes(r io.Reader) int64 {
	s, ok := r.(io.Seeker)
	if !ok {
		return -1
	}
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1
	}
	end, err := s.Seek(0, io.SeekEnd)
	if _, err2 := s.Seek(cur, io.SeekStart); err != nil || err2 != nil {
		return -1
	}
	return end - cur
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
