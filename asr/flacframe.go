package asr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// flacFrames decodes FLAC audio frames (RFC 9639, section 9) into per-channel sample
// buffers that it keeps and reuses, so decoding allocates nothing per frame: at most
// channels × 65,535 int64 samples (4 MiB at 8 channels), sized by the largest block
// seen. A third-party decoder that allocates every frame's samples afresh turns a
// small file of constant subframes (a few bytes for 65,535 samples of a channel) into
// gigabytes of garbage; here such a file costs only the time to fill the buffers,
// which Reader's work budget bounds (see workPerSecond).
type flacFrames struct {
	br       bitReader
	channels int // STREAMINFO
	rate     int // Hz
	bits     int

	block   int       // samples per channel of the current frame
	bps     int       // bits per sample of the current frame
	samples [][]int64 // [channels][≥ block]; channel c of the frame is samples[c][:block]
	coeffs  [32]int64 // LPC coefficients of the subframe being decoded
	nframe  int64     // frames decoded
}

var (
	flacRates = [12]int{0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000}
	flacBits  = [8]int{0, 8, 12, 0, 16, 20, 24, 32}
)

// Channel assignments beyond independent channels (RFC 9639, section 9.1.3).
const (
	flacLeftSide  = 8
	flacSideRight = 9
	flacMidSide   = 10
)

// next decodes the next frame into f.samples. It returns io.EOF at a clean end of the
// stream, an error wrapping io.ErrUnexpectedEOF when the input ends inside a frame,
// an *Error for a frame that does not fit STREAMINFO, and another error for a frame
// that is corrupt.
func (f *flacFrames) next() error {
	assign, err := f.header()
	if err != nil {
		return err
	}
	f.nframe++
	for c := range f.channels {
		if cap(f.samples[c]) < f.block {
			f.samples[c] = make([]int64, f.block)
		}
		bps := f.bps
		if assign == flacLeftSide && c == 1 || assign == flacSideRight && c == 0 || assign == flacMidSide && c == 1 {
			bps++ // the side channel has one bit more
		}
		if err := f.subframe(f.samples[c][:f.block], uint(bps)); err != nil {
			return fmt.Errorf("subframe %d: %w", c, err)
		}
	}
	f.decorrelate(assign)
	f.br.align()
	crc := f.br.frameCRC()
	want, err := f.br.read(16)
	if err != nil {
		return err
	}
	if uint16(want) != crc {
		return fmt.Errorf("CRC-16 is %04X, the frame's bytes give %04X", want, crc)
	}
	return nil
}

// header reads a frame header, checks it against STREAMINFO and sets block and bps;
// it returns the channel assignment.
func (f *flacFrames) header() (assign int, err error) {
	h, err := f.br.frameStart(16) // a header is at most 16 bytes
	if err != nil {
		return 0, err
	}
	short := func(n int) bool { return len(h) < n }
	if short(4) {
		return 0, io.ErrUnexpectedEOF
	}
	if h[0] != 0xFF || h[1]&0xFE != 0xF8 {
		return 0, fmt.Errorf("no frame sync code (% X)", h[:2])
	}
	bsCode, rateCode, chCode, bpsCode := int(h[2]>>4), int(h[2]&15), int(h[3]>>4), int(h[3]>>1&7)
	if h[3]&1 != 0 {
		return 0, errors.New("reserved header bit is set")
	}
	p := 4
	if short(p + 1) {
		return 0, io.ErrUnexpectedEOF
	}
	// The frame or sample number, coded like UTF-8 (up to 7 bytes).
	n := bits.LeadingZeros8(^h[p])
	switch {
	case n == 0:
		n = 1
	case n == 1 || n == 8:
		return 0, fmt.Errorf("frame number starts with byte %02X", h[p])
	}
	if short(p + n) {
		return 0, io.ErrUnexpectedEOF
	}
	for _, b := range h[p+1 : p+n] {
		if b&0xC0 != 0x80 {
			return 0, fmt.Errorf("frame number has byte %02X", b)
		}
	}
	p += n
	switch {
	case bsCode == 0:
		return 0, errors.New("reserved block size code 0")
	case bsCode == 1:
		f.block = 192
	case bsCode <= 5:
		f.block = 576 << (bsCode - 2)
	case bsCode == 6:
		if short(p + 1) {
			return 0, io.ErrUnexpectedEOF
		}
		f.block, p = int(h[p])+1, p+1
	case bsCode == 7:
		if short(p + 2) {
			return 0, io.ErrUnexpectedEOF
		}
		f.block, p = int(binary.BigEndian.Uint16(h[p:]))+1, p+2
	default:
		f.block = 256 << (bsCode - 8)
	}
	rate := f.rate
	switch {
	case rateCode >= 1 && rateCode <= 11:
		rate = flacRates[rateCode]
	case rateCode == 12:
		if short(p + 1) {
			return 0, io.ErrUnexpectedEOF
		}
		rate, p = 1000*int(h[p]), p+1
	case rateCode == 13 || rateCode == 14:
		if short(p + 2) {
			return 0, io.ErrUnexpectedEOF
		}
		rate, p = int(binary.BigEndian.Uint16(h[p:])), p+2
		if rateCode == 14 {
			rate *= 10
		}
	case rateCode == 15:
		return 0, errors.New("invalid sample rate code 15")
	}
	if short(p + 1) {
		return 0, io.ErrUnexpectedEOF
	}
	if got := flacCRC8(h[:p]); got != h[p] {
		return 0, fmt.Errorf("header CRC-8 is %02X, its bytes give %02X", h[p], got)
	}
	f.br.consume(p + 1)
	channels := chCode + 1
	switch {
	case chCode >= flacLeftSide && chCode <= flacMidSide:
		channels = 2
	case chCode > flacMidSide:
		return 0, fmt.Errorf("reserved channel assignment %d", chCode)
	}
	f.bps = f.bits
	if bpsCode != 0 {
		f.bps = flacBits[bpsCode]
	}
	switch frame := commas(f.nframe); {
	case f.block > 65535:
		return 0, fmt.Errorf("block size %s, at most 65,535", commas(int64(f.block)))
	case bpsCode == 3:
		return 0, errors.New("reserved sample size code 3")
	case channels != f.channels:
		return 0, newError("flac", ReasonCorrupt, "frame %s has %d channels, STREAMINFO declares %d", frame, channels, f.channels)
	case rate != f.rate:
		return 0, newError("flac", ReasonUnsupported, "frame %s changes the sample rate from %d to %d Hz", frame, f.rate, rate)
	}
	return chCode, nil
}

// subframe decodes one channel's subframe, of bps-bit samples, into dst.
func (f *flacFrames) subframe(dst []int64, bps uint) error {
	br := &f.br
	h, err := br.read(8)
	if err != nil {
		return err
	}
	if h&0x80 != 0 {
		return errors.New("padding bit is set")
	}
	typ, wasted := int(h>>1&63), uint(0)
	if h&1 != 0 {
		k, err := br.unary(uint64(bps))
		if err != nil {
			return err
		}
		wasted = uint(k) + 1
	}
	if wasted >= bps {
		return fmt.Errorf("%d wasted bits of %d-bit samples", wasted, bps)
	}
	bps -= wasted
	switch {
	case typ == 0: // constant
		v, err := br.signed(bps)
		if err != nil {
			return err
		}
		for i := range dst {
			dst[i] = v
		}
	case typ == 1: // verbatim
		for i := range dst {
			if dst[i], err = br.signed(bps); err != nil {
				return err
			}
		}
	case typ >= 8 && typ <= 12: // fixed predictor, order 0 .. 4
		if err := f.predicted(dst, typ-8, bps, false); err != nil {
			return err
		}
	case typ >= 32: // linear predictor, order 1 .. 32
		if err := f.predicted(dst, typ-31, bps, true); err != nil {
			return err
		}
	default:
		return fmt.Errorf("reserved subframe type %d", typ)
	}
	if wasted > 0 {
		for i := range dst {
			dst[i] <<= wasted
		}
	}
	return nil
}

// predicted decodes a fixed (lpc false) or linear-predictive subframe of the given
// order into dst.
func (f *flacFrames) predicted(dst []int64, order int, bps uint, lpc bool) error {
	br := &f.br
	if order > len(dst) {
		return fmt.Errorf("predictor order %d, block of %d samples", order, len(dst))
	}
	var err error
	for i := range order {
		if dst[i], err = br.signed(bps); err != nil {
			return err
		}
	}
	shift := uint(0)
	coeffs := f.coeffs[:order]
	if lpc {
		prec, err := br.read(4)
		if err != nil {
			return err
		}
		if prec == 15 {
			return errors.New("invalid LPC coefficient precision code 15")
		}
		s, err := br.signed(5)
		if err != nil {
			return err
		}
		if s < 0 {
			return fmt.Errorf("negative LPC shift %d", s)
		}
		shift = uint(s)
		for i := range coeffs {
			if coeffs[i], err = br.signed(uint(prec) + 1); err != nil {
				return err
			}
		}
	}
	if err := f.residual(dst, order); err != nil {
		return err
	}
	if !lpc {
		fixedPredict(dst, order)
		return nil
	}
	for i := order; i < len(dst); i++ {
		var sum int64
		for j, c := range coeffs {
			sum += c * dst[i-1-j]
		}
		dst[i] += sum >> shift
	}
	return nil
}

// fixedPredict adds the fixed polynomial predictor of the given order to the residuals
// dst[order:] (RFC 9639, section 9.2.5).
func fixedPredict(s []int64, order int) {
	switch order {
	case 1:
		for i := 1; i < len(s); i++ {
			s[i] += s[i-1]
		}
	case 2:
		for i := 2; i < len(s); i++ {
			s[i] += 2*s[i-1] - s[i-2]
		}
	case 3:
		for i := 3; i < len(s); i++ {
			s[i] += 3*s[i-1] - 3*s[i-2] + s[i-3]
		}
	case 4:
		for i := 4; i < len(s); i++ {
			s[i] += 4*s[i-1] - 6*s[i-2] + 4*s[i-3] - s[i-4]
		}
	}
}

// residual decodes the partitioned Rice-coded residuals of a subframe into
// dst[order:] (RFC 9639, section 9.2.7).
func (f *flacFrames) residual(dst []int64, order int) error {
	br := &f.br
	h, err := br.read(6)
	if err != nil {
		return err
	}
	method, porder := h>>4, uint(h&15)
	if method > 1 {
		return fmt.Errorf("reserved residual coding method %d", method)
	}
	paramBits, escape := uint(4), uint64(15)
	if method == 1 {
		paramBits, escape = 5, 31
	}
	size := len(dst) >> porder
	if size<<porder != len(dst) || size < order {
		return fmt.Errorf("residual partition order %d for a block of %d samples, predictor order %d", porder, len(dst), order)
	}
	i := order
	for p := range 1 << porder {
		end := (p + 1) * size
		k, err := br.read(paramBits)
		if err != nil {
			return err
		}
		if k == escape { // unencoded, n-bit signed samples
			n, err := br.read(5)
			if err != nil {
				return err
			}
			for ; i < end; i++ {
				if dst[i], err = br.signed(uint(n)); err != nil {
					return err
				}
			}
			continue
		}
		for ; i < end; i++ {
			q, err := br.unary(1 << 32)
			if err != nil {
				return err
			}
			r, err := br.read(uint(k))
			if err != nil {
				return err
			}
			u := q<<k | r
			dst[i] = int64(u>>1) ^ -int64(u&1)
		}
	}
	return nil
}

// decorrelate turns left/side, side/right and mid/side channels into left and right.
func (f *flacFrames) decorrelate(assign int) {
	if assign < flacLeftSide {
		return
	}
	a, b := f.samples[0][:f.block], f.samples[1][:f.block]
	switch assign {
	case flacLeftSide: // b = left - right
		for i, l := range a {
			b[i] = l - b[i]
		}
	case flacSideRight: // a = left - right
		for i, r := range b {
			a[i] += r
		}
	case flacMidSide: // a = (left + right) >> 1, b = left - right
		for i, side := range b {
			mid := a[i]<<1 | side&1
			a[i], b[i] = (mid+side)>>1, (mid-side)>>1
		}
	}
}
