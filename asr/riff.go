package asr

import (
	"encoding/binary"
	"io"
	"strconv"
	"strings"
)

// RIFF/WAVE is read by this package's own streaming chunk reader, not by
// github.com/go-audio/wav (which the tests keep only as an independent encoder). Its
// decoder (through go-audio/riff) reads chunk bodies into memory at whatever size their
// header declares and trusts the counts in the fmt chunk: a 1 KB file whose LIST chunk
// declares 4 GiB made it allocate 8.6 GB and run for 3.5 minutes; 65,535 channels, an
// unknown WAVE_FORMAT_EXTENSIBLE sub-format or a 0xFFFFFFFF data size came back as
// audio with no error; it needs an io.ReadSeeker, decodes extensible float as integers,
// and has no 64-bit float.
//
// This reader walks the chunks in one pass: it reads each 8-byte chunk header, checks
// the declared size against what the input holds (when it is an io.Seeker), reads at
// most 40 bytes of the fmt chunk, passes over everything else by seeking (or by reading
// through a fixed buffer when the input does not seek) and stops at the data chunk,
// which is then decoded in 64 KB pieces. Nothing is allocated at a size read from the
// file. It is lenient where real files are wrong and the meaning is still clear:
//   - The RIFF size is ignored: writers that stream (ffmpeg to a pipe) leave it
//     0xFFFFFFFF, others leave it 0 or count wrongly, and chunks after the data chunk
//     are never needed. The data chunk's own size is authoritative.
//   - A data size of 0xFFFFFFFF means "unknown" (the placeholder a streaming writer
//     never patches): the data runs to the end of the input.
//   - A chunk with an odd size is followed by a zero pad byte, which some writers leave
//     out: a nonzero byte after the body that starts a printable chunk id is taken to
//     be the next chunk.
//   - A data chunk that is not a whole number of frames decodes its whole frames; the
//     partial last frame (less than one sample per channel) is dropped.
//   - A file that ends inside its last odd chunk's pad byte is not truncated.
//   - The fmt chunk's byte rate is ignored (many writers get it wrong); block align,
//     channels and bits per sample must agree.

// riffChunk is a chunk header.
type riffChunk struct {
	id     string // four bytes, e.g. "fmt ", "LIST"
	size   int64  // body size as declared: 0 .. 2^32-1, without the pad byte
	offset int64  // of the chunk header in the input
}

// name is the chunk id as messages show it: fmt and data bare, others quoted (an id
// in a broken file may be any four bytes).
func (c riffChunk) name() string {
	if c.id == "fmt " || c.id == "data" {
		return strings.TrimSpace(c.id)
	}
	return strconv.Quote(c.id)
}

// nextChunk reads the next chunk header. At the end of the input it returns ok false
// and how many bytes of a header there were (0 at a clean end).
func nextChunk(in *input) (c riffChunk, partial int, ok bool) {
	c.offset = in.offset()
	var h [8]byte
	if n, err := io.ReadFull(in, h[:]); err != nil {
		return c, n, false
	}
	c.id, c.size = string(h[:4]), int64(binary.LittleEndian.Uint32(h[4:]))
	return c, 0, true
}

// skipChunk passes over the rest of c's body, whose first read bytes are consumed,
// and its pad byte.
func skipChunk(in *input, c riffChunk, read int64) error {
	rest := c.size - read
	if left := in.remaining(); left >= 0 && rest > left {
		return truncatedChunk(c, read+left)
	}
	if n := in.skip(rest); n < rest {
		return truncatedChunk(c, read+n)
	}
	if c.size%2 == 1 && !padMissing(in) {
		in.skip(1) // at the end of the input it may be missing too
	}
	return nil
}

// truncatedChunk is the error for a chunk whose body the input holds only holds bytes of.
func truncatedChunk(c riffChunk, holds int64) *Error {
	return newError("wav", ReasonTruncated, "%s chunk declares %s bytes, file holds %s (chunk header at byte %s)",
		c.name(), commas(c.size), commas(holds), commas(c.offset))
}

// padMissing reports whether the pad byte after an odd-sized chunk was left out: pad
// bytes are zero, so a nonzero byte that starts a plausible chunk id is the next chunk.
func padMissing(in *input) bool {
	b, _ := in.Peek(4)
	return len(b) == 4 && b[0] != 0 && plausibleID(b)
}

// plausibleID reports whether b is a chunk id as writers make them: printable ASCII.
func plausibleID(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}
