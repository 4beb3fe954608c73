package asr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The RIFF chunk walk, and why it is this package's own, is in riff.go; the fmt chunk
// in wavfmt.go. This file finds the data chunk and decodes its frames.

const (
	wavChunkBytes  = 64 << 10 // data bytes decoded per read
	wavUnknownSize = 0xFFFFFFFF
)

// wavSource decodes a data chunk of PCM or float frames.
type wavSource struct {
	r io.Reader
	wavFormat
	at       int64  // offset of the data chunk header in the input
	declared int64  // data chunk size in bytes; -1 = to the end of the input
	nread    int64  // data bytes read so far
	buf      []byte // [≤ wavChunkBytes]
}

// openWAV reads the RIFF header and walks the chunks up to the data chunk.
func openWAV(in *input) (source, header, error) {
	h := header{frames: -1}
	h.info.Format = "wav"
	var riff [12]byte // "RIFF", size (not used: see riff.go), "WAVE"
	if n, err := io.ReadFull(in, riff[:]); err != nil {
		return nil, h, newError("wav", ReasonTruncated, "file ends after %d bytes, inside the RIFF header", n)
	}
	var (
		format wavFormat
		fmtAt  int64 = -1 // offset of the fmt chunk, -1 before it
	)
	for {
		c, partial, ok := nextChunk(in)
		if !ok {
			missing := "data"
			if fmtAt < 0 {
				missing = "fmt"
			}
			if partial > 0 {
				return nil, h, newError("wav", ReasonTruncated, "file ends after %s bytes, inside the chunk header at byte %s, before the %s chunk",
					commas(c.offset+int64(partial)), commas(c.offset), missing)
			}
			return nil, h, newError("wav", ReasonTruncated, "file ends after %s bytes, before the %s chunk", commas(c.offset), missing)
		}
		switch c.id {
		case "fmt ":
			if fmtAt >= 0 {
				return nil, h, newError("wav", ReasonCorrupt, "second fmt chunk at byte %s (the first is at byte %s)", commas(c.offset), commas(fmtAt))
			}
			if c.size < 16 || c.size > wavMaxFmt {
				return nil, h, newError("wav", ReasonCorrupt, "fmt chunk declares %s bytes, want 16 .. %s (chunk header at byte %s)",
					commas(c.size), commas(wavMaxFmt), commas(c.offset))
			}
			var f [40]byte
			k := min(c.size, int64(len(f)))
			if n, err := io.ReadFull(in, f[:k]); err != nil {
				return nil, h, truncatedChunk(c, int64(n))
			}
			var err error
			if format, err = parseWAVFormat(f[:k], c); err != nil {
				return nil, h, err
			}
			h.info.Channels, h.info.SourceRate, h.info.BitDepth, h.info.Float = format.channels, format.rate, format.valid, format.float
			if err := skipChunk(in, c, k); err != nil {
				return nil, h, err
			}
			fmtAt = c.offset
		case "data":
			if fmtAt < 0 {
				return nil, h, newError("wav", ReasonCorrupt, "data chunk at byte %s comes before the fmt chunk", commas(c.offset))
			}
			src, err := newWAVSource(in, c, format, &h)
			return src, h, err
		default: // LIST, fact, bext, JUNK, ...: passed over, never read
			if err := skipChunk(in, c, 0); err != nil {
				return nil, h, err
			}
		}
	}
}

// newWAVSource checks the data chunk c's size against the format and the input.
func newWAVSource(in *input, c riffChunk, f wavFormat, h *header) (*wavSource, error) {
	s := &wavSource{r: in, wavFormat: f, at: c.offset, declared: -1}
	left := in.remaining()
	switch {
	case c.size == wavUnknownSize:
		// A streaming writer (ffmpeg writing to a pipe) puts 0xFFFFFFFF as a placeholder
		// it cannot seek back to patch: "unknown", decode to the end of the input.
		// MaxSeconds is then enforced while decoding.
		return s, nil
	case c.size == 0:
		follow := ""
		if left > 0 {
			follow = fmt.Sprintf(", though %s bytes follow it", commas(left))
		}
		return nil, newError("wav", ReasonEmpty, "data chunk declares 0 bytes (chunk header at byte %s)%s", commas(c.offset), follow)
	case left >= 0 && c.size > left:
		return nil, s.truncated(c.size, left)
	case c.size < int64(f.blockAlign):
		return nil, newError("wav", ReasonEmpty, "data chunk declares %d bytes, less than one %d-byte frame (chunk header at byte %s)",
			c.size, f.blockAlign, commas(c.offset))
	}
	s.declared = c.size
	h.frames = c.size / int64(f.blockAlign) // a partial last frame is dropped
	return s, nil
}

// truncated is the error for a data chunk of declared bytes of which the input holds
// only holds.
func (s *wavSource) truncated(declared, holds int64) *Error {
	return newError("wav", ReasonTruncated, "%d-bit data chunk declares %s bytes, file holds %s (chunk header at byte %s)",
		s.bits, commas(declared), commas(holds), commas(s.at))
}

// read decodes up to len(dst) frames, averaged over channels.
func (s *wavSource) read(dst []float32) (int, error) {
	frames := min(len(dst), wavChunkBytes/s.blockAlign)
	if s.declared >= 0 {
		frames = int(min(int64(frames), (s.declared-s.nread)/int64(s.blockAlign)))
		if frames == 0 {
			return 0, io.EOF
		}
	}
	if s.buf == nil {
		s.buf = make([]byte, wavChunkBytes)
	}
	b := s.buf[:frames*s.blockAlign]
	n, err := io.ReadFull(s.r, b)
	s.nread += int64(n)
	frames = n / s.blockAlign
	if cerr := s.convert(dst[:frames], b[:frames*s.blockAlign]); cerr != nil {
		return 0, cerr
	}
	switch {
	case err == nil:
		return frames, nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if s.declared < 0 {
			return frames, io.EOF
		}
		return frames, s.truncated(s.declared, s.nread)
	default:
		return frames, wrapError("wav", ReasonCorrupt, err, "reading the data chunk")
	}
}

// convert averages the channels of each frame in b into dst. [frames]·[blockAlign]byte → [frames]
func (s *wavSource) convert(dst []float32, b []byte) error {
	le := binary.LittleEndian
	inv := 1 / float32(s.channels)
	c := s.channels
	switch {
	case s.float && s.container == 4:
		for f := range dst {
			var sum float32
			for k := range c {
				sum += math.Float32frombits(le.Uint32(b[(f*c+k)*4:]))
			}
			dst[f] = sum * inv
		}
	case s.float:
		for f := range dst {
			var sum float64
			for k := range c {
				sum += math.Float64frombits(le.Uint64(b[(f*c+k)*8:]))
			}
			dst[f] = float32(sum) * inv
		}
	case s.container == 1: // 8-bit WAV is unsigned
		for f := range dst {
			var sum int32
			for k := range c {
				sum += int32(b[f*c+k]) - 128
			}
			dst[f] = float32(sum) * (inv / 128)
		}
	case s.container == 2:
		for f := range dst {
			var sum int32
			for k := range c {
				sum += int32(int16(le.Uint16(b[(f*c+k)*2:])))
			}
			dst[f] = float32(sum) * (inv / 32768)
		}
	case s.container == 3:
		for f := range dst {
			var sum int32
			for k := range c {
				p := b[(f*c+k)*3:]
				sum += int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8
			}
			dst[f] = float32(sum) * (inv / (1 << 23))
		}
	default: // 32-bit integers: sum in int64
		for f := range dst {
			var sum int64
			for k := range c {
				sum += int64(int32(le.Uint32(b[(f*c+k)*4:])))
			}
			dst[f] = float32(float64(sum) * float64(inv) / (1 << 31))
		}
	}
	if s.float {
		for i, v := range dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return newError("wav", ReasonCorrupt, "float sample in frame %s is not finite (%v)",
					commas(s.nread/int64(s.blockAlign)-int64(len(dst)-i)), v)
			}
		}
	}
	return nil
}

func (s *wavSource) bufferedBytes() int { return cap(s.buf) }
