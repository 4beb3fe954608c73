package transforms

import (
	"fmt"
	"math"

	"dlmstream/asr"
)

// TargetSampleRate is the rate every audio input is resampled to (asr.SampleRate).
const TargetSampleRate = asr.SampleRate

// AudioInfo describes a decoded audio input, as result records carry it.
type AudioInfo struct {
	Format     string  `json:"format,omitempty"` // "wav", "flac" or "mp3"
	SourceRate int     `json:"source_rate"`
	Channels   int     `json:"channels"`
	BitDepth   int     `json:"bit_depth"` // 0 for MP3
	Float      bool    `json:"float,omitempty"`
	Samples    int     `json:"samples_16k"` // samples after resampling to 16 kHz mono
	Seconds    float64 `json:"seconds"`
	Peak       float32 `json:"peak"` // largest absolute sample, 0..1
	RMS        float32 `json:"rms"`
}

// DecodeAudio decodes a WAV, FLAC or MP3 input with asr.Decode into 16 kHz mono samples
// in [-1, 1]; maxSeconds bounds the duration, checked against the header before any
// sample is decoded. Errors are *Rejection.
func DecodeAudio(data []byte, maxSeconds float64) (samples []float32, info AudioInfo, err error) {
	if maxSeconds <= 0 {
		return nil, info, reject(StageDecode, ReasonTooLong, "audio limit %g s admits no audio", maxSeconds)
	}
	a, err := asr.Decode(data, asr.DecodeOptions{MaxSeconds: maxSeconds})
	if err != nil {
		return nil, info, audioRejection(err, len(data))
	}
	i := a.Info
	return a.Samples, AudioInfo{Format: i.Format, SourceRate: i.SourceRate, Channels: i.Channels, BitDepth: i.BitDepth,
		Float: i.Float, Samples: len(a.Samples), Seconds: i.Seconds, Peak: i.Peak, RMS: i.RMS}, nil
}

// decodeInput decodes an audio input of content type ct: audio/L16 (raw
// PCM, resampled here to 16 kHz) or a WAV, FLAC or MP3 file (DecodeAudio).
func decodeInput(data []byte, ct string, maxSeconds float64) ([]float32, AudioInfo, error) {
	f, ok, err := asr.ParseL16(ct)
	if !ok {
		return DecodeAudio(data, maxSeconds)
	}
	x, info, err := decodeL16(data, f, err, maxSeconds)
	if err != nil {
		return nil, info, err
	}
	if f.Rate != TargetSampleRate {
		if x, err = asr.Resample(x, f.Rate, TargetSampleRate); err != nil {
			return nil, info, audioRejection(err, len(data))
		}
	}
	info.Samples = len(x)
	return x, info, nil
}

// decodeL16 decodes raw PCM of format f (perr: f's parse error) to mono at
// f.Rate, with its AudioInfo.
func decodeL16(data []byte, f asr.L16, perr error, maxSeconds float64) ([]float32, AudioInfo, error) {
	info := AudioInfo{Format: "l16", SourceRate: f.Rate, Channels: f.Channels, BitDepth: 16}
	if perr != nil {
		return nil, info, audioRejection(perr, len(data))
	}
	if info.Seconds = f.Seconds(len(data)); info.Seconds > maxSeconds {
		return nil, info, reject(StageDecode, ReasonTooLong, "l16: %.1f s of audio, limit %g s", info.Seconds, maxSeconds)
	}
	x, err := f.Decode(data)
	if err != nil {
		return nil, info, audioRejection(err, len(data))
	}
	for _, v := range x {
		info.Peak = max(info.Peak, abs32(v))
		info.RMS += v * v
	}
	if len(x) > 0 {
		info.RMS = float32(math.Sqrt(float64(info.RMS) / float64(len(x))))
	}
	info.Samples = int(math.Ceil(info.Seconds * TargetSampleRate))
	return x, info, nil
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// audioRejection maps an asr decode error onto a dead-letter reason; n is the input's length.
func audioRejection(err error, n int) *Rejection {
	reason := ReasonCorrupt
	switch asr.ReasonOf(err) {
	case asr.ReasonNotAudio:
		reason = ReasonNotAudio
	case asr.ReasonTruncated:
		reason = ReasonTruncated
	case asr.ReasonUnsupported:
		reason = ReasonUnsupportedFormat
	case asr.ReasonTooLong, asr.ReasonTooLarge: // too-large: more decoding work than MaxAudioSeconds of 48 kHz stereo
		reason = ReasonTooLong
	case asr.ReasonEmpty:
		if n == 0 {
			reason = ReasonNotAudio // no bytes at all: nothing that looks like audio
		}
	}
	return &Rejection{Stage: StageDecode, Reason: reason, Err: err}
}

// Resample is asr.Resample for this package's callers; it returns nil for rates
// asr.NewResampler refuses.
func Resample(x []float32, from, to int) []float32 {
	y, err := asr.Resample(x, from, to)
	if err != nil {
		return nil
	}
	return y
}

func (a AudioInfo) String() string {
	return fmt.Sprintf("%s, %.2f s, %d Hz, %d channel(s), %d-bit", a.Format, a.Seconds, a.SourceRate, a.Channels, a.BitDepth)
}
