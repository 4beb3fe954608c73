package asr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
)

// flacSource decodes FLAC frames one at a time with github.com/mewkiz/flac (a frame is
// at most 65,535 samples per channel).
type flacSource struct {
	stream   *flac.Stream
	channels int
	rate     int
	bits     int
	declared int64 // STREAMINFO total samples, -1 unknown

	f      *frame.Frame // current frame; nil before the first
	off    int          // next sample of f
	nframe int64        // frames parsed
	done   int64        // samples returned
}

// openFLAC reads the fLaC signature and the metadata blocks (readFLACMetadata), then
// hands mewkiz/flac a stream of just STREAMINFO and the frames.
func openFLAC(in *input) (src source, h header, err error) {
	h = header{frames: -1}
	h.info.Format = "flac"
	body, err := readFLACMetadata(in)
	if err != nil {
		return nil, h, err
	}
	si, err := parseFLACStreamInfo(body)
	h.info.SourceRate, h.info.Channels, h.info.BitDepth = si.rate, si.channels, si.bits
	if err != nil {
		return nil, h, err
	}
	defer func() {
		if p := recover(); p != nil {
			src, err = nil, recovered("flac", p)
		}
	}()
	head := append([]byte("fLaC\x80\x00\x00\x22"), body...) // STREAMINFO, marked last
	for _, i := range []int{8, 10} {                        // minimum and maximum block size
		if binary.BigEndian.Uint16(head[i:]) < 16 {
			binary.BigEndian.PutUint16(head[i:], 16)
		}
	}
	stream, err := flac.New(io.MultiReader(bytes.NewReader(head), in))
	if err != nil {
		return nil, h, wrapError("flac", ReasonCorrupt, err, "STREAMINFO")
	}
	s := &flacSource{stream: stream, channels: si.channels, rate: si.rate, bits: si.bits, declared: -1}
	if si.total > 0 {
		s.declared = si.total
		h.frames = s.declared
	}
	return s, h, nil
}

func (s *flacSource) read(dst []float32) (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = recovered("flac", p)
		}
	}()
	for n < len(dst) {
		if s.f == nil || s.off == int(s.f.BlockSize) {
			if err := s.next(); err != nil {
				return n, err
			}
		}
		k := min(len(dst)-n, int(s.f.BlockSize)-s.off)
		s.downmix(dst[n:n+k], s.off)
		s.off += k
		n += k
		s.done += int64(k)
	}
	return n, nil
}

// next parses the next frame and checks it against STREAMINFO.
func (s *flacSource) next() error {
	s.f = nil
	f, err := s.stream.ParseNext()
	switch {
	case err == io.EOF:
		if s.declared > s.done {
			return newError("flac", ReasonTruncated, "STREAMINFO declares %s samples, stream holds %s", commas(s.declared), commas(s.done))
		}
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return wrapError("flac", ReasonTruncated, err, "stream ends inside frame %s (after %s samples)", commas(s.nframe), commas(s.done))
	case err != nil:
		return wrapError("flac", ReasonCorrupt, err, "frame %s", commas(s.nframe))
	}
	s.nframe++
	switch {
	case len(f.Subframes) != s.channels:
		return newError("flac", ReasonCorrupt, "frame %s has %d channels, STREAMINFO declares %d", commas(s.nframe-1), len(f.Subframes), s.channels)
	case f.SampleRate != 0 && int(f.SampleRate) != s.rate:
		return newError("flac", ReasonUnsupported, "frame %s changes the sample rate from %d to %d Hz", commas(s.nframe-1), s.rate, f.SampleRate)
	case f.BlockSize == 0:
		return newError("flac", ReasonCorrupt, "frame %s is empty", commas(s.nframe-1))
	}
	for _, sub := range f.Subframes {
		if len(sub.Samples) < int(f.BlockSize) {
			return newError("flac", ReasonCorrupt, "frame %s has %d of %d samples", commas(s.nframe-1), len(sub.Samples), f.BlockSize)
		}
	}
	s.f, s.off = f, 0
	return nil
}

// downmix averages the channels of samples off.. of the current frame into dst.
func (s *flacSource) downmix(dst []float32, off int) {
	bits := s.bits
	if s.f.BitsPerSample != 0 {
		bits = int(s.f.BitsPerSample)
	}
	scale := 1 / (float32(int64(1)<<(bits-1)) * float32(s.channels))
	subs := s.f.Subframes
	if len(subs) == 1 {
		for i, v := range subs[0].Samples[off : off+len(dst)] {
			dst[i] = float32(v) * scale
		}
		return
	}
	for i := range dst {
		var sum int64
		for _, sub := range subs {
			sum += int64(sub.Samples[off+i])
		}
		dst[i] = float32(sum) * scale
	}
}

func (s *flacSource) bufferedBytes() int {
	if s.f == nil {
		return 0
	}
	n := 0
	for _, sub := range s.f.Subframes {
		n += 4 * cap(sub.Samples)
	}
	return n
}
