package asr

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// WAV format tags.
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavExtensible = 0xFFFE
)

// wavMaxChannels is the most channels a WAV may declare. 64 covers the layouts real
// files have (7.1.4 is 12, third-order ambisonics 16, multitrack field recorders up to
// 32, a MADI capture 64) and keeps a frame at most 512 bytes; the channels are averaged
// for speech in any case.
const wavMaxChannels = 64

// wavMaxFmt is the largest fmt chunk accepted (real ones are 16, 18 or 40 bytes); only
// its first 40 bytes are read.
const wavMaxFmt = 1 << 16

// wavFormatNames names tags seen in the wild that this package does not decode.
var wavFormatNames = map[uint16]string{
	0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM",
	0x0031: "GSM 6.10", 0x0050: "MPEG", 0x0055: "MPEG Layer 3",
}

// ksSubformatTail is the part of a WAVE_FORMAT_EXTENSIBLE sub-format GUID after its
// two-byte format tag (KSDATAFORMAT_SUBTYPE_PCM and _IEEE_FLOAT share it).
var ksSubformatTail = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavFormat is a validated fmt chunk.
type wavFormat struct {
	channels   int // 1 .. wavMaxChannels
	rate       int // Hz, minRate .. maxRate
	blockAlign int // bytes per frame: channels·container
	bits       int // bits per sample as declared (the container's, for extensible)
	valid      int // valid bits per sample (WAVE_FORMAT_EXTENSIBLE), else bits
	container  int // bytes per sample: 1 .. 4 PCM, 4 or 8 float
	float      bool
}

// parseWAVFormat validates the first bytes f (16 .. 40) of the fmt chunk c. Each fault
// has its own message naming the field and its value.
func parseWAVFormat(f []byte, c riffChunk) (wavFormat, error) {
	le := binary.LittleEndian
	tag := le.Uint16(f[0:])
	w := wavFormat{channels: int(le.Uint16(f[2:])), rate: int(le.Uint32(f[4:])),
		blockAlign: int(le.Uint16(f[12:])), bits: int(le.Uint16(f[14:]))}
	w.valid = w.bits
	switch {
	case w.channels == 0:
		return w, newError("wav", ReasonCorrupt, "fmt chunk declares 0 channels")
	case w.channels > wavMaxChannels:
		return w, newError("wav", ReasonUnsupported, "fmt chunk declares %d channels, at most %d", w.channels, wavMaxChannels)
	case w.rate == 0:
		return w, newError("wav", ReasonCorrupt, "fmt chunk declares sample rate 0 Hz")
	case w.rate < minRate || w.rate > maxRate:
		return w, newError("wav", ReasonUnsupported, "fmt chunk declares sample rate %s Hz (%s .. %s Hz supported)",
			commas(int64(w.rate)), commas(minRate), commas(maxRate))
	case w.bits == 0:
		return w, newError("wav", ReasonCorrupt, "fmt chunk declares 0 bits per sample")
	}
	if tag == wavExtensible {
		var err error
		if tag, err = w.extensible(f, c); err != nil {
			return w, err
		}
	}
	switch tag {
	case wavPCM:
		if w.bits < 8 || w.bits > 32 {
			return w, newError("wav", ReasonUnsupported, "fmt chunk declares %d-bit PCM (8 .. 32 supported)", w.bits)
		}
		w.container = (w.bits + 7) / 8 // e.g. 20-bit samples sit left-justified in 3 bytes
	case wavFloat:
		if w.bits != 32 && w.bits != 64 {
			return w, newError("wav", ReasonUnsupported, "fmt chunk declares %d-bit IEEE float (32 and 64 supported)", w.bits)
		}
		w.container, w.float = w.bits/8, true
	default:
		return w, newError("wav", ReasonUnsupported, "format tag 0x%04x (%s); PCM and IEEE float are supported", tag, formatName(tag))
	}
	switch want := w.channels * w.container; {
	case w.blockAlign == 0:
		return w, newError("wav", ReasonCorrupt, "fmt chunk declares block align 0 (want %d for %d channel(s) of %d-bit samples)",
			want, w.channels, w.bits)
	case w.blockAlign != want:
		return w, newError("wav", ReasonCorrupt, "block align %d does not fit %d channel(s) of %d-bit samples (want %d)",
			w.blockAlign, w.channels, w.bits, want)
	}
	return w, nil
}

// extensible reads the WAVE_FORMAT_EXTENSIBLE part of a fmt chunk: the valid bits and
// the sub-format GUID, whose format tag it returns (PCM or IEEE float).
func (w *wavFormat) extensible(f []byte, c riffChunk) (uint16, error) {
	if c.size < 40 {
		return 0, newError("wav", ReasonCorrupt, "WAVE_FORMAT_EXTENSIBLE fmt chunk declares %d bytes, want at least 40", c.size)
	}
	switch v := int(binary.LittleEndian.Uint16(f[18:])); {
	case v > w.bits:
		return 0, newError("wav", ReasonCorrupt, "WAVE_FORMAT_EXTENSIBLE declares %d valid bits in %d-bit samples", v, w.bits)
	case v > 0: // 0: writers that leave it out mean all of them
		w.valid = v
	}
	sub := f[24:40]
	tag := binary.LittleEndian.Uint16(sub)
	if !bytes.Equal(sub[2:], ksSubformatTail) {
		return 0, newError("wav", ReasonUnsupported, "WAVE_FORMAT_EXTENSIBLE sub-format %s is not PCM or IEEE float", guid(sub))
	}
	if tag != wavPCM && tag != wavFloat {
		return 0, newError("wav", ReasonUnsupported, "WAVE_FORMAT_EXTENSIBLE sub-format %s (%s) is not PCM or IEEE float",
			guid(sub), formatName(tag))
	}
	return tag, nil
}

// formatName names a WAV format tag seen in the wild ("mu-law"), else "unknown".
func formatName(tag uint16) string {
	if name := wavFormatNames[tag]; name != "" {
		return name
	}
	return "unknown"
}

// guid formats a 16-byte GUID as Windows does: {00000001-0000-0010-8000-00AA00389B71}.
func guid(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16])
}
