package asr

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"sync"
)

// MP3 (MPEG-1, 2 and 2.5 Layer III) is decoded by mp3Decoder (mp3decode.go), frame by
// frame as mp3Frames finds them: it walks the frame headers itself, which is how a
// file cut mid-frame is told apart from a clean end, how tags between or after frames
// are skipped, and how the Xing/LAME header gives the length and the encoder delay to
// trim (gapless decoding).

// mp3Header is an MPEG audio frame header (the 4 bytes at a frame sync).
type mp3Header struct {
	version int // 1, 2 or 25 (MPEG-2.5)
	layer   int // 1, 2, 3
	bitrate int // bits per second; 0 = free format
	rate    int // Hz
	padding bool
	mono    bool
	crc     bool // a 16-bit CRC follows the header
}

var (
	mp3Bitrates = map[int][16]int{ // kbit/s by version·10+layer, index 1..14
		13: {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		12: {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		11: {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		23: {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		22: {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		21: {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
	}
	mp3Rates = map[int][3]int{1: {44100, 48000, 32000}, 2: {22050, 24000, 16000}, 25: {11025, 12000, 8000}}
)

// parseMP3Header parses b[:4] as a frame header; false if it is not one.
func parseMP3Header(b []byte) (mp3Header, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mp3Header{}, false
	}
	var h mp3Header
	switch (b[1] >> 3) & 3 {
	case 0:
		h.version = 25
	case 2:
		h.version = 2
	case 3:
		h.version = 1
	default:
		return h, false
	}
	h.layer = 4 - int((b[1]>>1)&3)
	bi, ri := int(b[2]>>4), int((b[2]>>2)&3)
	if h.layer == 4 || bi == 15 || ri == 3 || b[3]&3 == 2 {
		return h, false
	}
	v := h.version
	if v == 25 {
		v = 2
	}
	h.bitrate = mp3Bitrates[v*10+h.layer][bi] * 1000
	h.rate = mp3Rates[h.version][ri]
	h.padding = b[2]&2 != 0
	h.mono = b[3]>>6 == 3
	h.crc = b[1]&1 == 0
	return h, true
}

func (h mp3Header) versionName() string {
	if h.version == 25 {
		return "2.5"
	}
	return string(rune('0' + h.version))
}

// samples is the number of samples per channel in a frame.
func (h mp3Header) samples() int {
	switch {
	case h.layer == 1:
		return 384
	case h.layer == 3 && h.version != 1:
		return 576
	}
	return 1152
}

// size is the frame's length in bytes, header included (not for free format).
func (h mp3Header) size() int {
	pad := 0
	if h.padding {
		pad = 1
	}
	if h.layer == 1 {
		return (12*h.bitrate/h.rate + pad) * 4
	}
	return h.samples()/8*h.bitrate/h.rate + pad
}

// sameStream reports whether h can follow first in one stream (a resync check).
func (h mp3Header) sameStream(first mp3Header) bool {
	return h.version == first.version && h.layer == first.layer && h.rate == first.rate && h.bitrate > 0
}

// sideInfo is the length of the Layer III side information after the header.
func (h mp3Header) sideInfo() int {
	switch {
	case h.version == 1 && h.mono:
		return 17
	case h.version == 1:
		return 32
	case h.mono:
		return 9
	}
	return 17
}

// mp3Frames reads whole frames from r; as an io.Reader it serves their bytes.
type mp3Frames struct {
	r         *input
	first     mp3Header
	frame     []byte // [≤ 2,881] the current frame
	off       int    // bytes of frame already served
	frames    int64  // frames served
	truncated int    // bytes of a frame cut off by the end of the file (0 = clean end)
}

// next loads the next frame, skipping tags and junk between frames; io.EOF at the end.
func (m *mp3Frames) next() error {
	for {
		b, _ := m.r.Peek(10)
		if len(b) < 4 {
			return io.EOF
		}
		if h, ok := parseMP3Header(b); ok && h.sameStream(m.first) {
			frame, _ := m.r.Peek(h.size())
			if len(frame) < h.size() {
				m.truncated = h.size() - len(frame)
				return io.EOF
			}
			m.frame = append(m.frame[:0], frame...)
			m.off = 0
			m.frames++
			_, err := m.r.Discard(h.size())
			return err
		}
		skip := int64(1) // junk: scan for the next sync
		switch {
		case bytes.HasPrefix(b, []byte("TAG")): // ID3v1, 128 bytes
			skip = 128
		case bytes.HasPrefix(b, []byte("ID3")) && len(b) == 10 && b[6]|b[7]|b[8]|b[9] < 0x80:
			skip = 10 + (int64(b[6])<<21 | int64(b[7])<<14 | int64(b[8])<<7 | int64(b[9]))
		case bytes.HasPrefix(b, []byte("APETAGEX")):
			if f, _ := m.r.Peek(32); len(f) == 32 {
				skip = 32 + int64(binary.LittleEndian.Uint32(f[12:])) // header + items and footer
			}
		}
		if left := m.r.remaining(); left >= 0 && skip > left || m.r.skip(skip) < skip {
			return io.EOF // a tag that runs past the end: the last frame ended the stream
		}
	}
}

func (m *mp3Frames) Read(p []byte) (int, error) {
	if m.off == len(m.frame) {
		if err := m.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, m.frame[m.off:])
	m.off += n
	return n, nil
}

// mp3Source serves the mono downmix of the frames, decoded by mp3Decoder at the
// source rate over decim (every decim-th sample), trimmed of the encoder delay and
// padding. Counts (skip, left, declared, done) are in source samples.
type mp3Source struct {
	frames  *mp3Frames
	dec     *mp3Decoder
	pending bool      // frames.frame is decoded next (the first audio frame)
	ended   bool      // the frames have ended; end says how
	pcm     []float32 // decoded samples not yet returned: a window of out
	out     []float32 // [≤ mp3Batch·1152/decim] a batch's decoded samples
	// A batch of frames is decoded in two halves at once: dec decodes the first,
	// alt (warmed up on the frames before it) the second, and takes over from dec.
	alt         *mp3Decoder
	arena       []byte    // the batch's frames, back to back
	ends        []int     // [≤ mp3Batch] where each frame ends in arena
	pcm2, scrap []float32 // alt's output; its warm-up output, dropped
	skip        int64     // samples still to drop at the start (encoder and decoder delay)
	left        int64     // samples still to return before the encoder padding; -1 = all
	// declared is the length the Xing/VBRI header gives, in samples (-1 without one);
	// a stream that ends more than a frame short of it was cut.
	declared, done int64
	spf            int // samples per frame
}

// mp3DecoderDelay is the delay of the MP3 synthesis filterbank, in samples, which a
// LAME header's encoder delay does not include.
const mp3DecoderDelay = 529

// openMP3 reads the first frame and, when there is one, the Xing/Info/VBRI header.
func openMP3(r *input) (src source, h header, err error) {
	remaining := r.remaining()
	h = header{frames: -1}
	h.info.Format = "mp3"
	b, _ := r.Peek(4)
	first, _ := parseMP3Header(b) // sniff checked it
	h.info.SourceRate, h.info.Channels = first.rate, 2
	if first.mono {
		h.info.Channels = 1
	}
	switch {
	case first.layer != 3:
		return nil, h, newError("mp3", ReasonUnsupported, "MPEG-%s Layer %d (only Layer III is supported)", first.versionName(), first.layer)
	case first.bitrate == 0:
		return nil, h, newError("mp3", ReasonUnsupported, "free-format bit rate is not supported")
	}
	m := &mp3Frames{r: r, first: first}
	if err := m.next(); err != nil {
		return nil, h, newError("mp3", ReasonTruncated, "file ends inside the first frame (%d of %d bytes)", first.size()-m.truncated, first.size())
	}
	s := &mp3Source{frames: m, left: -1, declared: -1, spf: first.samples()}
	if total, delay, padding, ok := xingHeader(m.frame, first); ok {
		m.off = len(m.frame) // the header frame is silence: do not decode it
		if total > 0 {
			h.frames = total * int64(first.samples())
			if delay >= 0 && int64(delay+padding) < h.frames {
				s.skip = int64(delay) + mp3DecoderDelay
				h.frames -= int64(delay + padding)
				s.left = h.frames
			}
			s.declared = h.frames
		}
	} else if remaining > 0 {
		h.frames = remaining / int64(first.size()) * int64(first.samples()) // constant bit rate estimate
	}
	if m.off == len(m.frame) { // the header frame: decoding starts at the next
		if err := m.next(); err != nil {
			if m.truncated > 0 {
				return nil, h, newError("mp3", ReasonTruncated, "file ends inside frame %s", commas(m.frames))
			}
			return nil, h, newError("mp3", ReasonEmpty, "no audio frames")
		}
	}
	s.pending = true
	s.dec = newMP3Decoder(first, int(s.skip%2))
	h.rate = first.rate / s.dec.decim
	return s, h, nil
}

// xingHeader reads the Xing/Info (and LAME) or VBRI header in frame, if it has one:
// the stream's frame count (0 when it does not say) and, from a LAME tag, the encoder
// delay and padding in samples (delay -1 without one).
func xingHeader(frame []byte, h mp3Header) (frames int64, delay, padding int, ok bool) {
	off := 4 + h.sideInfo()
	if h.crc {
		off += 2
	}
	be := binary.BigEndian
	if v := frame[min(36, len(frame)):]; len(v) >= 18 && string(v[:4]) == "VBRI" {
		return int64(be.Uint32(v[14:])), -1, 0, true
	}
	x := frame[min(off, len(frame)):]
	if len(x) < 8 || (string(x[:4]) != "Xing" && string(x[:4]) != "Info") {
		return 0, 0, 0, false
	}
	flags, p := be.Uint32(x[4:]), 8
	if flags&1 != 0 { // frame count
		if len(x) >= p+4 {
			frames = int64(be.Uint32(x[p:]))
		}
		p += 4
	}
	if flags&2 != 0 { // byte count
		p += 4
	}
	if flags&4 != 0 { // seek table
		p += 100
	}
	if flags&8 != 0 { // quality
		p += 4
	}
	delay = -1
	if len(x) >= p+24 && string(x[p:p+4]) == "LAME" {
		d := x[p+21:]
		delay, padding = int(d[0])<<4|int(d[1])>>4, int(d[1]&0xF)<<8|int(d[2])
	}
	return frames, delay, padding, true
}

func (s *mp3Source) read(dst []float32) (n int, err error) {
	defer func() { // a decoder bug on hostile input fails the stream, not the process
		if p := recover(); p != nil {
			n, err = 0, recovered("mp3", p)
		}
	}()
	decim := int64(s.dec.decim)
	for n < len(dst) {
		if s.left == 0 {
			return n, io.EOF
		}
		if len(s.pcm) == 0 {
			if s.ended {
				return n, s.end()
			}
			s.decodeBatch()
			if len(s.pcm) == 0 {
				continue
			}
			// Output sample m is source sample phase + decim·m, phase = skip mod decim:
			// drop those before skip.
			if drop := min(s.skip/decim, int64(len(s.pcm))); drop > 0 {
				s.pcm, s.skip = s.pcm[drop:], s.skip-drop*decim
			}
			if s.skip < decim {
				s.skip = 0
			}
			if s.left >= 0 && int64(len(s.pcm)) > (s.left+decim-1)/decim {
				s.pcm = s.pcm[:(s.left+decim-1)/decim]
			}
		}
		k := copy(dst[n:], s.pcm)
		s.pcm = s.pcm[k:]
		n += k
		full := int64(k) * decim // source samples served
		if s.left >= 0 {
			full = min(full, s.left) // the last output may stand for fewer than decim
			s.left -= full
		}
		s.done += full
	}
	return n, nil
}

// sourceFrames is the source samples served so far, exactly.
func (s *mp3Source) sourceFrames() int64 { return s.done }

// mp3Batch is the frames decoded at a time: two halves of 24, which two goroutines
// decode at once (the second one's warm-up costs a frame or two).
const mp3Batch = 48

// decodeBatch reads up to mp3Batch frames and decodes them into out (and pcm).
func (s *mp3Source) decodeBatch() {
	s.arena, s.ends = s.arena[:0], s.ends[:0]
	for len(s.ends) < mp3Batch {
		if !s.pending {
			if err := s.frames.next(); err != nil {
				s.ended = true
				break
			}
		}
		s.pending = false
		s.arena = append(s.arena, s.frames.frame...)
		s.ends = append(s.ends, len(s.arena))
	}
	frame := func(i int) []byte {
		if i == 0 {
			return s.arena[:s.ends[0]]
		}
		return s.arena[s.ends[i-1]:s.ends[i]]
	}
	n, half := len(s.ends), len(s.ends)/2
	s.out = s.out[:0]
	defer func() { s.pcm = s.out }()
	if n < mp3Batch || runtime.GOMAXPROCS(0) < 2 {
		for i := range n {
			s.out = s.dec.frame(frame(i), s.out)
		}
		return
	}
	if s.alt == nil {
		s.alt = newMP3Decoder(s.dec.header, s.dec.phase)
		s.alt.separate = s.dec.separate
	}
	s.alt.restart(s.dec.res)
	s.pcm2 = s.pcm2[:0]
	var wg sync.WaitGroup
	var failed any // the second goroutine's panic, raised again here
	wg.Go(func() {
		defer func() { failed = recover() }()
		warm := half - s.alt.warmFrames()
		for i := range warm {
			s.alt.prime(frame(i))
		}
		for i := warm; i < half; i++ {
			s.scrap = s.alt.frame(frame(i), s.scrap[:0])
		}
		for i := half; i < n; i++ {
			s.pcm2 = s.alt.frame(frame(i), s.pcm2)
		}
	})
	for i := range half {
		s.out = s.dec.frame(frame(i), s.out)
	}
	wg.Wait()
	if failed != nil {
		panic(failed)
	}
	s.out = append(s.out, s.pcm2...)
	s.dec, s.alt = s.alt, s.dec
}

// end is the error at the end of the frames: io.EOF, or why the stream was cut.
func (s *mp3Source) end() error {
	if s.frames.truncated > 0 {
		return newError("mp3", ReasonTruncated, "file ends inside frame %s (%d bytes missing)",
			commas(s.frames.frames), s.frames.truncated)
	}
	if s.declared > s.done+int64(s.spf) {
		return newError("mp3", ReasonTruncated, "Xing header declares %s samples, stream holds %s",
			commas(s.declared), commas(s.done))
	}
	return io.EOF
}

// bufferedBytes is the memory s holds for samples and frames, in bytes (the two
// decoders' fixed state, about 20 KB each, aside).
func (s *mp3Source) bufferedBytes() int {
	n := 4*(cap(s.out)+cap(s.pcm2)+cap(s.scrap)) + cap(s.arena) + cap(s.frames.frame) + cap(s.dec.buf) + cap(s.dec.res)
	if s.alt != nil {
		n += cap(s.alt.buf) + cap(s.alt.res)
	}
	return n
}
