package asr

import (
	"errors"
	"io"
)

// flacSource decodes a FLAC stream a frame at a time with flacFrames (a frame is at
// most 65,535 samples per channel), into buffers it reuses.
type flacSource struct {
	dec      flacFrames
	declared int64 // STREAMINFO total samples, -1 unknown

	ready bool  // dec holds a frame
	off   int   // next sample of the frame
	done  int64 // samples returned
}

// openFLAC reads the fLaC signature and the metadata blocks (readFLACMetadata), and
// leaves in at the first frame.
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
	s := &flacSource{declared: -1}
	s.dec = flacFrames{br: bitReader{in: in}, channels: si.channels, rate: si.rate, bits: si.bits, samples: make([][]int64, si.channels)}
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
		if !s.ready || s.off == s.dec.block {
			if err := s.next(); err != nil {
				return n, err
			}
		}
		k := min(len(dst)-n, s.dec.block-s.off)
		s.downmix(dst[n:n+k], s.off)
		s.off += k
		n += k
		s.done += int64(k)
	}
	return n, nil
}

// next decodes the next frame.
func (s *flacSource) next() error {
	s.ready = false
	err := s.dec.next()
	var e *Error
	switch frame := commas(s.dec.nframe - 1); {
	case err == nil:
		s.ready, s.off = true, 0
		return nil
	case err == io.EOF:
		if s.declared > s.done {
			return newError("flac", ReasonTruncated, "STREAMINFO declares %s samples, stream holds %s", commas(s.declared), commas(s.done))
		}
		return io.EOF
	case errors.As(err, &e):
		return e
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newError("flac", ReasonTruncated, "stream ends inside frame %s (after %s samples)", frame, commas(s.done))
	default:
		return wrapError("flac", ReasonCorrupt, err, "frame %s", frame)
	}
}

// downmix averages the channels of samples off.. of the current frame into dst.
func (s *flacSource) downmix(dst []float32, off int) {
	scale := 1 / (float32(int64(1)<<(s.dec.bps-1)) * float32(s.dec.channels))
	chans := s.dec.samples
	if len(chans) == 1 {
		for i, v := range chans[0][off : off+len(dst)] {
			dst[i] = float32(v) * scale
		}
		return
	}
	for i := range dst {
		var sum int64
		for _, c := range chans {
			sum += c[off+i]
		}
		dst[i] = float32(sum) * scale
	}
}

func (s *flacSource) bufferedBytes() int {
	n := 0
	for _, c := range s.dec.samples {
		n += 8 * cap(c)
	}
	return n
}
