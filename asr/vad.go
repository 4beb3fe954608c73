package asr

import (
	"math"
	"slices"
)

// HasSpeech is the voice-activity gate: it reports whether samples (mono,
// rate Hz) hold speech. Digital silence, near-silence and stationary noise
// (white, pink, hum) fail it, so they never reach the language model and
// never come back as hallucinated text. Speech is a signal whose 10 ms
// frame energy rises well above its own floor: at least 100 ms of frames
// more than 9 dB above the 10th-percentile frame and above -50 dBFS, with a
// loudest frame above -45 dBFS. Stationary noise varies by a few dB frame
// to frame at most; syllables vary by tens.
func HasSpeech(samples []float32, rate int) bool {
	frame := max(rate/100, 1)
	e := frameEnergies(samples, frame)
	if len(e) < 10 {
		return false
	}
	floor := percentile(e, 0.1)
	if percentile(e, 1) < -45 {
		return false
	}
	voiced := 0
	for _, v := range e {
		if v > floor+9 && v > -50 {
			voiced++
		}
	}
	return voiced >= 10
}

// frameEnergies is the RMS level in dBFS of consecutive frames of n samples.
func frameEnergies(x []float32, n int) []float64 {
	out := make([]float64, 0, len(x)/n)
	for i := 0; i+n <= len(x); i += n {
		var s float64
		for _, v := range x[i : i+n] {
			s += float64(v) * float64(v)
		}
		out = append(out, 10*math.Log10(s/float64(n)+1e-12))
	}
	return out
}

// percentile is the q-quantile (0..1) of v (nearest rank).
func percentile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(q * float64(len(s)-1))
	return s[i]
}
