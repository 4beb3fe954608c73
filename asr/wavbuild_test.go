package asr

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
)

// WAV fixture builders: whole files from a spec, and the pieces (chunks, fmt bodies)
// that the hostile-input tests put together by hand.

// wavSpec describes a WAV file for makeWAV.
type wavSpec struct {
	tag        int // 1 PCM, 3 float, 7 mu-law, ...
	bits       int
	rate       int
	channels   int
	extensible bool  // write WAVE_FORMAT_EXTENSIBLE with tag as the sub-format
	validBits  int   // extensible: valid bits (0 = bits)
	blockAlign int   // 0 = channels·bits/8
	dataSize   int64 // declared data chunk size; 0 = the real size
	before     []byte
}

// makeWAV encodes interleaved samples in [-1, 1] ([frames·channels]) as s says.
func makeWAV(s wavSpec, samples []float64) []byte {
	data := wavSamples(s, samples)
	size := uint32(len(data))
	if s.dataSize != 0 {
		size = uint32(s.dataSize)
	}
	f := fmtBody(s)
	return riff(chunk("fmt ", uint32(len(f)), f), s.before, chunk("data", size, data))
}

// wavSamples encodes interleaved samples in [-1, 1] as the data chunk body of s.
func wavSamples(s wavSpec, samples []float64) []byte {
	le := binary.LittleEndian
	data := make([]byte, 0, len(samples)*s.bits/8)
	for _, v := range samples {
		switch {
		case s.tag == wavFloat && s.bits == 32:
			data = le.AppendUint32(data, math.Float32bits(float32(v)))
		case s.tag == wavFloat && s.bits == 64:
			data = le.AppendUint64(data, math.Float64bits(v))
		case s.bits == 8:
			data = append(data, byte(int(math.Round(v*127))+128))
		case s.bits == 16:
			data = le.AppendUint16(data, uint16(int16(math.Round(v*32767))))
		case s.bits == 24:
			x := int32(math.Round(v * 8388607))
			data = append(data, byte(x), byte(x>>8), byte(x>>16))
		case s.bits == 32:
			data = le.AppendUint32(data, uint32(int32(math.Round(v*2147483647))))
		}
	}
	return data
}

// fmtBody is the fmt chunk body for s: 16 bytes, or 40 for WAVE_FORMAT_EXTENSIBLE.
func fmtBody(s wavSpec) []byte {
	le := binary.LittleEndian
	align := s.blockAlign
	if align == 0 {
		align = s.channels * s.bits / 8
	}
	tag := s.tag
	if s.extensible {
		tag = wavExtensible
	}
	f := le.AppendUint16(nil, uint16(tag))
	f = le.AppendUint16(f, uint16(s.channels))
	f = le.AppendUint32(f, uint32(s.rate))
	f = le.AppendUint32(f, uint32(s.rate*align))
	f = le.AppendUint16(f, uint16(align))
	f = le.AppendUint16(f, uint16(s.bits))
	if s.extensible {
		valid := s.validBits
		if valid == 0 {
			valid = s.bits
		}
		f = le.AppendUint16(f, 22)
		f = le.AppendUint16(f, uint16(valid))
		f = le.AppendUint32(f, 0) // channel mask
		f = le.AppendUint16(f, uint16(s.tag))
		f = append(f, ksSubformatTail...)
	}
	return f
}

// riff is a RIFF/WAVE file of the given chunks, with a correct RIFF size.
func riff(chunks ...[]byte) []byte {
	body := slices.Concat(chunks...)
	b := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(4+len(body)))
	return slices.Concat(b, []byte("WAVE"), body)
}

// withRIFFSize is a copy of the WAV file b with its RIFF size replaced.
func withRIFFSize(b []byte, size uint32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[4:], size)
	return b
}

// pcm16 is a 16-bit PCM WAV of interleaved samples.
func pcm16(rate, channels int, samples []float64) []byte {
	return makeWAV(wavSpec{tag: wavPCM, bits: 16, rate: rate, channels: channels}, samples)
}

// sines returns n frames of a sine at freq Hz on every channel, channel c at amplitude
// amps[c] (amps[0] for all when there are fewer). [n·channels]
func sines(freq float64, rate, n, channels int, amps ...float64) []float64 {
	out := make([]float64, 0, n*channels)
	for i := range n {
		v := math.Sin(2 * math.Pi * freq * float64(i) / float64(rate))
		for c := range channels {
			out = append(out, v*amps[min(c, len(amps)-1)])
		}
	}
	return out
}

// chunk is a RIFF chunk: id, declared size, body (no pad byte is added).
func chunk(id string, size uint32, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], size)
	return append(b, body...)
}
