package asr

import (
	"encoding/binary"
	"fmt"
	"io"
)

// flacStreamInfoLen is the length of a STREAMINFO block body.
const flacStreamInfoLen = 34

// flacBlockNames names the metadata block types (RFC 9639, section 8.1).
var flacBlockNames = [...]string{"STREAMINFO", "PADDING", "APPLICATION", "SEEKTABLE", "VORBIS_COMMENT", "CUESHEET", "PICTURE"}

func flacBlockName(typ byte) string {
	switch {
	case int(typ) < len(flacBlockNames):
		return flacBlockNames[typ]
	case typ == 127:
		return "invalid type 127"
	}
	return fmt.Sprintf("reserved type %d", typ)
}

// flacInfo is what decoding needs from STREAMINFO.
type flacInfo struct {
	rate     int   // Hz
	channels int   // 1 .. 8
	bits     int   // 1 .. 32
	total    int64 // samples per channel, 0 unknown
}

// readFLACMetadata reads the fLaC signature and the metadata blocks of in and returns
// the STREAMINFO body. It walks the blocks itself (github.com/mewkiz/flac, which this
// package once used, reads through to the end of the input when a block declares more
// bytes than there are, and then reports no error at all): each block's declared
// length is checked against what the input holds (when known) before it is passed
// over, by seeking when the input can, and only STREAMINFO's 34 bytes are read.
func readFLACMetadata(in *input) ([]byte, error) {
	var sig [4]byte
	if _, err := io.ReadFull(in, sig[:]); err != nil { // sniff has seen "fLaC"
		return nil, newError("flac", ReasonTruncated, "file ends inside the fLaC signature")
	}
	var si []byte // [34]
	for last := false; !last; {
		at := in.offset()
		var b [4]byte
		if n, err := io.ReadFull(in, b[:]); err != nil {
			where := "inside the metadata (no block is marked last)"
			if si == nil {
				where = "before STREAMINFO"
			}
			return nil, newError("flac", ReasonTruncated, "file ends after %s bytes, %s", commas(at+int64(n)), where)
		}
		last = b[0]&0x80 != 0
		typ, size := b[0]&0x7F, int64(b[1])<<16|int64(b[2])<<8|int64(b[3])
		name := flacBlockName(typ)
		switch {
		case si == nil && typ != 0:
			return nil, newError("flac", ReasonCorrupt, "first metadata block is %s (block header at byte %s), want STREAMINFO", name, commas(at))
		case si != nil && typ == 0:
			return nil, newError("flac", ReasonCorrupt, "second STREAMINFO block (block header at byte %s)", commas(at))
		case typ == 127:
			return nil, newError("flac", ReasonCorrupt, "metadata block of invalid type 127 (block header at byte %s)", commas(at))
		case typ == 0 && size != flacStreamInfoLen:
			return nil, newError("flac", ReasonCorrupt, "STREAMINFO block declares %s bytes, want %d", commas(size), flacStreamInfoLen)
		}
		truncated := func(holds int64) error {
			return newError("flac", ReasonTruncated, "%s block declares %s bytes, file holds %s (block header at byte %s)",
				name, commas(size), commas(holds), commas(at))
		}
		if left := in.remaining(); left >= 0 && size > left {
			return nil, truncated(left)
		}
		if typ == 0 {
			si = make([]byte, flacStreamInfoLen)
			if n, err := io.ReadFull(in, si); err != nil {
				return nil, truncated(int64(n))
			}
			continue
		}
		if n := in.skip(size); n < size {
			return nil, truncated(n)
		}
	}
	return si, nil
}

// parseFLACStreamInfo validates a STREAMINFO body. Its block sizes are not checked:
// they are informational (each frame header gives its own).
func parseFLACStreamInfo(b []byte) (flacInfo, error) {
	// Bytes 10..17: rate (20 bits), channels-1 (3), bits-1 (5), total samples (36).
	x := binary.BigEndian.Uint64(b[10:])
	si := flacInfo{rate: int(x >> 44), channels: int(x>>41&7) + 1, bits: int(x>>36&31) + 1, total: int64(x & (1<<36 - 1))}
	switch {
	case si.rate == 0:
		return si, newError("flac", ReasonCorrupt, "STREAMINFO declares sample rate 0 Hz")
	case si.rate < minRate || si.rate > maxRate:
		return si, newError("flac", ReasonUnsupported, "STREAMINFO declares sample rate %s Hz (%s .. %s Hz supported)",
			commas(int64(si.rate)), commas(minRate), commas(maxRate))
	case si.bits < 4:
		return si, newError("flac", ReasonCorrupt, "STREAMINFO declares %d-bit samples (4 .. 32 are valid)", si.bits)
	}
	return si, nil
}
