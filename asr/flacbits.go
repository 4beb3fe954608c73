package asr

import (
	"errors"
	"io"
	"math/bits"
)

// bitReader reads a FLAC stream's bits, most significant first, straight from the
// input's buffer (peeked, and discarded as it is used up), and keeps the CRC-16 of
// the current frame's bytes.
type bitReader struct {
	in  *input
	buf []byte // the input's buffered bytes; buf[:pos] have been taken into x or consumed
	pos int
	// x holds the next n bits of the stream in its top bits; the bits below are zero.
	x uint64
	n uint
	// crc is the CRC-16 of the frame's bytes before buf[crcAt].
	crc   uint16
	crcAt int
}

// more refills buf from the input, keeping the bytes x still holds bits of. It reports
// whether there are new bytes.
func (b *bitReader) more() bool {
	keep := int(b.n+7) / 8
	done := b.pos - keep
	b.crc = crc16(b.crc, b.buf[b.crcAt:done])
	b.in.Discard(done)
	b.buf, _ = b.in.Peek(b.in.Size()) // fewer at the end of the input
	b.pos, b.crcAt = keep, 0
	return len(b.buf) > keep
}

// load takes bytes of buf into x while it has room for a whole one.
func (b *bitReader) load() {
	for b.n <= 56 && b.pos < len(b.buf) {
		b.x |= uint64(b.buf[b.pos]) << (56 - b.n)
		b.pos++
		b.n += 8
	}
}

// read reads a k-bit unsigned number, k ≤ 57.
func (b *bitReader) read(k uint) (uint64, error) {
	for b.n < k {
		if b.pos == len(b.buf) && !b.more() {
			return 0, io.ErrUnexpectedEOF
		}
		b.load()
	}
	v := b.x >> (64 - k) // 0 when k is 0
	b.x <<= k
	b.n -= k
	return v, nil
}

// signed reads a k-bit two's complement number, k ≤ 57.
func (b *bitReader) signed(k uint) (int64, error) {
	v, err := b.read(k)
	if k == 0 {
		return 0, err
	}
	return int64(v<<(64-k)) >> (64 - k), err
}

// errUnaryTooLong is a unary number over its limit.
var errUnaryTooLong = errors.New("unary-coded number out of range")

// unary reads a unary number: the count of 0 bits before the next 1 bit, at most limit.
func (b *bitReader) unary(limit uint64) (uint64, error) {
	var q uint64
	for {
		if b.x != 0 { // a 1 bit among the n held
			z := uint(bits.LeadingZeros64(b.x))
			q += uint64(z)
			b.x <<= z + 1
			b.n -= z + 1
			if q > limit {
				return 0, errUnaryTooLong
			}
			return q, nil
		}
		q += uint64(b.n)
		b.x, b.n = 0, 0
		if q > limit {
			return 0, errUnaryTooLong
		}
		if b.pos == len(b.buf) && !b.more() {
			return 0, io.ErrUnexpectedEOF
		}
		b.load()
	}
}

// align drops the bits up to the next byte boundary.
func (b *bitReader) align() {
	b.x <<= b.n % 8
	b.n -= b.n % 8
}

// frameStart aligns to a byte and starts a frame: it returns up to max of the next
// bytes (none at the end of the input), to be passed over with consume, and restarts
// the CRC-16 there.
func (b *bitReader) frameStart(max int) ([]byte, error) {
	b.align()
	b.pos -= int(b.n / 8) // hand the whole bytes x holds back to buf
	b.x, b.n = 0, 0
	b.crcAt = b.pos
	if len(b.buf)-b.pos < max {
		b.more()
	}
	b.crc, b.crcAt = 0, b.pos
	if b.pos == len(b.buf) {
		return nil, io.EOF
	}
	return b.buf[b.pos:min(b.pos+max, len(b.buf))], nil
}

// consume passes over n bytes that frameStart returned.
func (b *bitReader) consume(n int) { b.pos += n }

// frameCRC is the CRC-16 of the frame's bytes up to where b stands, on a byte boundary.
func (b *bitReader) frameCRC() uint16 {
	return crc16(b.crc, b.buf[b.crcAt:b.pos-int(b.n/8)])
}

// CRC tables (RFC 9639, section 9.1.8 and 9.3): CRC-8 with polynomial x^8+x^2+x+1 and
// CRC-16 with x^16+x^15+x^2+1, most significant bit first, initial value 0.
var crc8Table, crc16Table = func() (t8 [256]uint8, t16 [256]uint16) {
	for i := range 256 {
		c8, c16 := uint8(i), uint16(i)<<8
		for range 8 {
			c8 = c8<<1 ^ uint8(-(c8>>7)&0x07)
			c16 = c16<<1 ^ -(c16>>15)&0x8005
		}
		t8[i], t16[i] = c8, c16
	}
	return t8, t16
}()

func flacCRC8(p []byte) uint8 {
	var c uint8
	for _, v := range p {
		c = crc8Table[c^v]
	}
	return c
}

func crc16(c uint16, p []byte) uint16 {
	for _, v := range p {
		c = c<<8 ^ crc16Table[byte(c>>8)^v]
	}
	return c
}
