package asr

import (
	"encoding/binary"
	"mime"
	"strconv"
	"strings"
)

// L16 is raw 16-bit linear PCM as MIME type audio/L16 defines it (RFC 2586:
// big-endian two's complement, channels interleaved, no header; the rate and
// channel count travel in the content type, e.g. "audio/L16; rate=16000;
// channels=1"). It is the usual payload of live audio chunks, which carry no
// container of their own.
type L16 struct {
	Rate     int // Hz
	Channels int
}

// ParseL16 reads an audio/L16 content type. ok is false for other types;
// err names a missing or out-of-range parameter (rate is required, channels
// defaults to 1).
func ParseL16(contentType string) (f L16, ok bool, err error) {
	mt, params, perr := mime.ParseMediaType(contentType)
	if perr != nil || !strings.EqualFold(mt, "audio/l16") {
		if perr != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "audio/l16") {
			return f, true, wrapError("l16", ReasonUnsupported, perr, "content type %q", contentType)
		}
		return f, false, nil
	}
	f.Channels = 1
	if v, has := params["channels"]; has {
		if f.Channels, err = strconv.Atoi(v); err != nil || f.Channels < 1 || f.Channels > maxChannels {
			return f, true, newError("l16", ReasonUnsupported, "channels=%q: want 1 .. %d", v, maxChannels)
		}
	}
	v, has := params["rate"]
	if !has {
		return f, true, newError("l16", ReasonUnsupported, "content type %q has no rate parameter", contentType)
	}
	if f.Rate, err = strconv.Atoi(v); err != nil || f.Rate < 1 || f.Rate > maxRate {
		return f, true, newError("l16", ReasonUnsupported, "rate=%q: want 1 .. %d Hz", v, maxRate)
	}
	return f, true, nil
}

// Decode returns data's mono samples at f.Rate in [-1, 1) (channels
// averaged). data must hold whole frames.
func (f L16) Decode(data []byte) ([]float32, error) {
	frame := 2 * f.Channels
	if len(data)%frame != 0 {
		return nil, newError("l16", ReasonTruncated, "%d bytes is not a whole number of %d-byte frames", len(data), frame)
	}
	out := make([]float32, len(data)/frame) // [frames]
	for i := range out {
		var s float32
		for c := 0; c < f.Channels; c++ {
			s += float32(int16(binary.BigEndian.Uint16(data[i*frame+2*c:])))
		}
		out[i] = s / (32768 * float32(f.Channels))
	}
	return out, nil
}

// Seconds is the duration of n bytes of f.
func (f L16) Seconds(n int) float64 { return float64(n) / float64(2*f.Channels*f.Rate) }
