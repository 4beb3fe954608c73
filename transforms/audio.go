package transforms

import (
	"fmt"

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
	case asr.ReasonTooLong:
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
