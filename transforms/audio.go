package transforms

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/go-audio/wav"
)

// TargetSampleRate is the rate every audio input is resampled to (Whisper-style encoders).
const TargetSampleRate = 16000

// WAV format codes.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavExtensible = 0xFFFE
)

// AudioInfo describes a decoded audio input.
type AudioInfo struct {
	SourceRate int     `json:"source_rate"`
	Channels   int     `json:"channels"`
	BitDepth   int     `json:"bit_depth"`
	Float      bool    `json:"float,omitempty"`
	Samples    int     `json:"samples_16k"` // samples after resampling to 16 kHz mono
	Seconds    float64 `json:"seconds"`
	Peak       float32 `json:"peak"` // largest absolute sample, 0..1
	RMS        float32 `json:"rms"`
}

// DecodeAudio decodes a WAV file (PCM 8/16/24/32-bit or 32-bit float, any rate and
// channel count) into 16 kHz mono samples in [-1, 1]. maxSeconds bounds the duration
// the header declares, checked before any sample is decoded. Errors are *Rejection.
func DecodeAudio(data []byte, maxSeconds float64) (samples []float32, info AudioInfo, err error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, info, reject(StageDecode, ReasonNotAudio, "no RIFF/WAVE header")
	}
	defer func() { // the WAV decoder trusts chunk sizes; never let a hostile file crash a worker
		if p := recover(); p != nil {
			samples, err = nil, reject(StageDecode, ReasonCorrupt, "wav decoder: %v", p)
		}
	}()
	d := wav.NewDecoder(bytes.NewReader(data))
	d.ReadInfo()
	if !d.IsValidFile() {
		if riffSize := binary.LittleEndian.Uint32(data[4:8]); d.Err() != nil || uint64(len(data)-8) < uint64(riffSize) {
			return nil, info, reject(StageDecode, ReasonTruncated, "wav header incomplete (%d of %d bytes): %v", len(data), riffSize+8, d.Err())
		}
		return nil, info, reject(StageDecode, ReasonCorrupt, "wav header lacks channels, rate or bit depth")
	}
	info = AudioInfo{SourceRate: int(d.SampleRate), Channels: int(d.NumChans), BitDepth: int(d.BitDepth)}
	switch {
	case d.WavAudioFormat == wavFloat && d.BitDepth == 32:
		info.Float = true
	case (d.WavAudioFormat == wavPCM || d.WavAudioFormat == wavExtensible) &&
		(d.BitDepth == 8 || d.BitDepth == 16 || d.BitDepth == 24 || d.BitDepth == 32):
	default:
		return nil, info, reject(StageDecode, ReasonUnsupportedFormat, "wav format %d with %d-bit samples (want PCM 8/16/24/32 or float 32)", d.WavAudioFormat, d.BitDepth)
	}
	if d.SampleRate < 1000 || d.SampleRate > 384000 {
		return nil, info, reject(StageDecode, ReasonUnsupportedFormat, "sample rate %d Hz", d.SampleRate)
	}
	if err := d.FwdToPCM(); err != nil || d.PCMChunk == nil {
		return nil, info, reject(StageDecode, ReasonTruncated, "no data chunk: %v", err)
	}
	bytesPer := int(d.BitDepth) / 8
	frameBytes := bytesPer * info.Channels
	declared := d.PCMChunk.Size / frameBytes
	if secs := float64(declared) / float64(d.SampleRate); secs > maxSeconds {
		return nil, info, reject(StageDecode, ReasonTooLong, "%.1f s of audio, limit %.0f s", secs, maxSeconds)
	}
	buf, err := d.FullPCMBuffer()
	if err != nil {
		return nil, info, reject(StageDecode, ReasonCorrupt, "wav data: %v", err)
	}
	frames := len(buf.Data) / info.Channels
	if frames < declared {
		return nil, info, reject(StageDecode, ReasonTruncated, "data chunk declares %d frames, file holds %d", declared, frames)
	}
	mono := make([]float32, frames) // [frames]
	scale := float32(1) / float32(int64(1)<<(d.BitDepth-1))
	for f := range frames {
		var sum float32
		for c := range info.Channels {
			v := buf.Data[f*info.Channels+c]
			switch {
			case info.Float:
				sum += math.Float32frombits(uint32(int32(v)))
			case d.BitDepth == 8: // 8-bit WAV is unsigned
				sum += float32(v-128) * scale
			default:
				sum += float32(v) * scale
			}
		}
		mono[f] = sum / float32(info.Channels)
	}
	out := Resample(mono, int(d.SampleRate), TargetSampleRate)
	info.Samples = len(out)
	info.Seconds = float64(frames) / float64(d.SampleRate)
	var sq float64
	for _, v := range out {
		a := float32(math.Abs(float64(v)))
		if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) {
			return nil, info, reject(StageDecode, ReasonCorrupt, "non-finite float sample")
		}
		info.Peak = max(info.Peak, a)
		sq += float64(v) * float64(v)
	}
	if len(out) > 0 {
		info.RMS = float32(math.Sqrt(sq / float64(len(out))))
	}
	return out, info, nil
}

// resampleZeroCrossings is the half width of the windowed-sinc kernel, in zero crossings.
const resampleZeroCrossings = 16

// Resample converts x (mono, rate from) to rate to with a Hann-windowed sinc filter
// whose cutoff is the lower of the two Nyquist frequencies (no aliasing when downsampling).
func Resample(x []float32, from, to int) []float32 {
	if from == to || len(x) == 0 {
		return append([]float32(nil), x...)
	}
	n := int(int64(len(x)) * int64(to) / int64(from))
	out := make([]float32, n) // [n]
	step := float64(from) / float64(to)
	cutoff := math.Min(1, float64(to)/float64(from)) // relative to the input Nyquist
	half := float64(resampleZeroCrossings) / cutoff  // kernel half width in input samples
	for j := range out {
		t := float64(j) * step
		lo := max(0, int(math.Ceil(t-half)))
		hi := min(len(x)-1, int(math.Floor(t+half)))
		var acc, norm float64
		for i := lo; i <= hi; i++ {
			d := t - float64(i)
			w := 0.5 + 0.5*math.Cos(math.Pi*d/half) // Hann window over [-half, half]
			k := cutoff * sinc(cutoff*d) * w
			acc += float64(x[i]) * k
			norm += k
		}
		if norm != 0 {
			out[j] = float32(acc / norm) // unit DC gain, also at the edges
		}
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

func (a AudioInfo) String() string {
	return fmt.Sprintf("%.2f s, %d Hz, %d channel(s), %d-bit", a.Seconds, a.SourceRate, a.Channels, a.BitDepth)
}
