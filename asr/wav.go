package asr

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
)

// WAV (RIFF/WAVE) is parsed here rather than with github.com/go-audio/wav: that decoder
// needs an io.ReadSeeker (no streaming), reads WAVE_FORMAT_EXTENSIBLE without its
// sub-format (float would decode as integers), has no 64-bit float, and allocates a
// fmt chunk's declared size unchecked. This parser reads chunk headers, skips what it
// does not need by discarding (never allocating a declared size), and decodes the data
// chunk in bounded pieces.

// WAV format tags.
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavExtensible = 0xFFFE
)

// wavFormatNames names tags seen in the wild that this package does not decode.
var wavFormatNames = map[uint16]string{
	0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10", 0x0050: "MPEG", 0x0055: "MPEG Layer 3",
}

// ksSubformatTail is the part of a WAVE_FORMAT_EXTENSIBLE sub-format GUID after its
// two-byte format tag (KSDATAFORMAT_SUBTYPE_PCM and _IEEE_FLOAT share it).
var ksSubformatTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

const (
	wavMaxFmt      = 1 << 16  // largest fmt chunk read (real ones are 16..40 bytes)
	wavChunkBytes  = 64 << 10 // data bytes decoded per read
	wavUnknownSize = 0xFFFFFFFF
)

// wavSource decodes a data chunk of PCM or float frames.
type wavSource struct {
	r          io.Reader
	channels   int
	container  int  // bytes per sample: 1..4 PCM, 4 or 8 float
	float      bool // IEEE float samples
	bits       int
	blockAlign int    // bytes per frame
	declared   int64  // data chunk size in bytes; -1 = to the end of the file
	nread      int64  // data bytes read so far
	buf        []byte // [≤ wavChunkBytes]
}

// openWAV parses the RIFF header and chunks up to the data chunk. remaining is how many
// bytes r holds, or -1 when unknown.
func openWAV(r *bufio.Reader, remaining int64) (source, header, error) {
	h := header{frames: -1}
	h.info.Format = "wav"
	var riff [12]byte
	if n, err := io.ReadFull(r, riff[:]); err != nil {
		return nil, h, newError("wav", ReasonTruncated, "file ends after %d bytes, inside the RIFF header", n)
	}
	offset := int64(12)
	var fmtChunk []byte
	for {
		var ch [8]byte
		if n, err := io.ReadFull(r, ch[:]); err != nil {
			missing := "data"
			if fmtChunk == nil {
				missing = "fmt"
			}
			return nil, h, newError("wav", ReasonTruncated, "file ends after %s bytes, before the %s chunk", commas(offset+int64(n)), missing)
		}
		offset += 8
		id, size := string(ch[:4]), int64(binary.LittleEndian.Uint32(ch[4:]))
		switch id {
		case "fmt ":
			if size < 16 || size > wavMaxFmt {
				return nil, h, newError("wav", ReasonCorrupt, "fmt chunk declares %s bytes (want 16 .. %s)", commas(size), commas(wavMaxFmt))
			}
			fmtChunk = make([]byte, size+size%2)
			if n, err := io.ReadFull(r, fmtChunk); err != nil && int64(n) < size {
				return nil, h, newError("wav", ReasonTruncated, "fmt chunk declares %d bytes, file holds %d", size, n)
			}
			fmtChunk = fmtChunk[:size]
			offset += size + size%2
		case "data":
			if fmtChunk == nil {
				return nil, h, newError("wav", ReasonCorrupt, "data chunk before the fmt chunk")
			}
			src, err := newWAVSource(r, fmtChunk, &h)
			if err != nil {
				return nil, h, err
			}
			if size != wavUnknownSize { // 0xFFFFFFFF: a streaming writer's "until the end"
				src.declared = size
				if remaining >= 0 && size > remaining-offset {
					return nil, h, newError("wav", ReasonTruncated, "%d-bit data chunk declares %s bytes, file holds %s",
						src.bits, commas(size), commas(remaining-offset))
				}
				h.frames = size / int64(src.blockAlign)
				if h.frames == 0 {
					return nil, h, newError("wav", ReasonEmpty, "data chunk holds no samples (%d bytes)", size)
				}
			}
			return src, h, nil
		default: // LIST, fact, bext, JUNK, ...: skip without allocating
			n, err := io.CopyN(io.Discard, r, size+size%2)
			if err != nil && n < size {
				return nil, h, newError("wav", ReasonTruncated, "%q chunk declares %s bytes, file holds %s", id, commas(size), commas(n))
			}
			offset += n
		}
	}
}

// newWAVSource validates the fmt chunk and fills h.info.
func newWAVSource(r io.Reader, f []byte, h *header) (*wavSource, error) {
	le := binary.LittleEndian
	tag, channels, rate := le.Uint16(f[0:]), int(le.Uint16(f[2:])), int64(le.Uint32(f[4:]))
	blockAlign, bits := int(le.Uint16(f[12:])), int(le.Uint16(f[14:]))
	valid := bits
	if tag == wavExtensible {
		if len(f) < 40 {
			return nil, newError("wav", ReasonCorrupt, "WAVE_FORMAT_EXTENSIBLE fmt chunk has %d bytes, want 40", len(f))
		}
		if v := int(le.Uint16(f[18:])); v > 0 && v <= bits {
			valid = v
		}
		sub := f[24:40]
		if !bytes.Equal(sub[2:], ksSubformatTail) {
			return nil, newError("wav", ReasonUnsupported, "WAVE_FORMAT_EXTENSIBLE sub-format % x is not PCM or float", sub)
		}
		tag = le.Uint16(sub)
	}
	h.info.Channels, h.info.SourceRate, h.info.BitDepth = channels, int(rate), valid
	switch {
	case channels == 0:
		return nil, newError("wav", ReasonCorrupt, "fmt chunk declares 0 channels")
	case channels > maxChannels:
		return nil, newError("wav", ReasonUnsupported, "%d channels (1 .. %d supported)", channels, maxChannels)
	case rate < minRate || rate > maxRate:
		return nil, newError("wav", ReasonUnsupported, "sample rate %s Hz (%s .. %s Hz supported)", commas(rate), commas(minRate), commas(maxRate))
	}
	s := &wavSource{r: r, channels: channels, bits: bits, blockAlign: blockAlign, declared: -1}
	switch tag {
	case wavPCM:
		if bits < 8 || bits > 32 {
			return nil, newError("wav", ReasonUnsupported, "%d-bit PCM (8 .. 32 supported)", bits)
		}
		s.container = (bits + 7) / 8 // e.g. 20-bit samples sit left-justified in 3 bytes
	case wavFloat:
		if bits != 32 && bits != 64 {
			return nil, newError("wav", ReasonUnsupported, "%d-bit float (32 and 64 supported)", bits)
		}
		s.container, s.float = bits/8, true
		h.info.Float = true
	default:
		name := wavFormatNames[tag]
		if name == "" {
			name = "unknown"
		}
		return nil, newError("wav", ReasonUnsupported, "format 0x%04x (%s); PCM and IEEE float are supported", tag, name)
	}
	if blockAlign != channels*s.container {
		return nil, newError("wav", ReasonCorrupt, "block align %d does not fit %d channel(s) of %d-bit samples (want %d)",
			blockAlign, channels, bits, channels*s.container)
	}
	return s, nil
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
		return frames, newError("wav", ReasonTruncated, "%d-bit data chunk declares %s bytes, file holds %s",
			s.bits, commas(s.declared), commas(s.nread))
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
