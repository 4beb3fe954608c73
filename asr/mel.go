package asr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Whisper's log-mel front end, as transformers' WhisperFeatureExtractor computes it on its
// numpy path: the waveform is zero-padded or truncated to the chunk length, a centered STFT
// (reflect padding of NFFT/2 on both sides, periodic Hann window, hop Hop) gives the power
// spectrum, the last frame is dropped, Slaney-normalized Slaney-scale triangular filters
// (0 to 8 kHz) map it to NMels bins, then log10(max(x, 1e-10)), a floor at the utterance's
// maximum minus 8, and (x+4)/4. The STFT, filters and logarithm run in float64, like numpy.

// Whisper's defaults, which the zero MelConfig stands for.
const (
	WhisperSampleRate = 16000
	WhisperNFFT       = 400
	WhisperHop        = 160
	WhisperNMels      = 80
	WhisperNSamples   = 30 * WhisperSampleRate // 30 s chunks, 3,000 frames
)

const (
	melFMax     = 8000.0 // transformers passes max_frequency=8000.0 whatever the sampling rate
	melLogFloor = 1e-10  // clamp before log10
	melDynRange = 8.0    // log10 units kept below the maximum
)

// MelConfig describes a Whisper log-mel front end. The zero value is Whisper's: 16 kHz,
// n_fft 400, hop 160, 80 mel bins, 30 s chunks; any zero field takes that default.
type MelConfig struct {
	SampleRate int // Hz; default 16000
	NFFT       int // FFT size = window length, samples; default 400
	Hop        int // samples between frames; default 160
	NMels      int // mel bins (80, or 128 for Whisper large-v3); default 80
	// NSamples is the chunk length LogMel zero-pads or truncates the waveform to (audio at
	// the start); LogMel returns NSamples/Hop frames. Default 30 s (480,000 samples);
	// demo-speech uses 51,200 (3.2 s, 320 frames).
	NSamples int
}

// withDefaults fills zero fields with Whisper's values.
func (c MelConfig) withDefaults() MelConfig {
	if c.SampleRate == 0 {
		c.SampleRate = WhisperSampleRate
	}
	if c.NFFT == 0 {
		c.NFFT = WhisperNFFT
	}
	if c.Hop == 0 {
		c.Hop = WhisperHop
	}
	if c.NMels == 0 {
		c.NMels = WhisperNMels
	}
	if c.NSamples == 0 {
		c.NSamples = 30 * c.SampleRate
	}
	return c
}

// Validate reports a configuration the front end cannot compute (after defaults).
func (c MelConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.SampleRate < 0 || c.NFFT < 0 || c.Hop < 0 || c.NMels < 0 || c.NSamples < 0:
		return fmt.Errorf("asr: mel config %+v: negative field", c)
	case c.NFFT < 2:
		return fmt.Errorf("asr: mel config: n_fft %d < 2", c.NFFT)
	case c.NMels > c.NFFT/2+1:
		// More filters than FFT bins leaves some filters empty (transformers only warns).
		return fmt.Errorf("asr: mel config: %d mel bins for %d FFT bins", c.NMels, c.NFFT/2+1)
	case c.NSamples < c.Hop:
		return fmt.Errorf("asr: mel config: n_samples %d shorter than one hop (%d)", c.NSamples, c.Hop)
	}
	return nil
}

// Frames returns the number of frames LogMel returns: NSamples/Hop.
func (c MelConfig) Frames() int {
	c = c.withDefaults()
	return c.NSamples / c.Hop
}

// MelConfigFromCheckpoint reads the "feature_extractor" block of a dlmstream speech
// checkpoint's config.json (testdata/models/demo-speech): keys sampling_rate, n_fft,
// hop_length, n_mels, n_samples, max_frames, and the descriptive mel_norm, mel_scale,
// window and feature_extractor_type, which must name what this front end computes.
// Missing keys take Whisper's defaults; the result has every field set.
func MelConfigFromCheckpoint(configJSON []byte) (MelConfig, error) {
	var doc struct {
		FE *struct {
			Type       string `json:"feature_extractor_type"`
			SampleRate int    `json:"sampling_rate"`
			NFFT       int    `json:"n_fft"`
			Hop        int    `json:"hop_length"`
			NMels      int    `json:"n_mels"`
			NSamples   int    `json:"n_samples"`
			MaxFrames  int    `json:"max_frames"`
			MelNorm    string `json:"mel_norm"`
			MelScale   string `json:"mel_scale"`
			Window     string `json:"window"`
		} `json:"feature_extractor"`
	}
	if err := json.Unmarshal(configJSON, &doc); err != nil {
		return MelConfig{}, fmt.Errorf("asr: config.json: %w", err)
	}
	fe := doc.FE
	if fe == nil {
		return MelConfig{}, errors.New(`asr: config.json has no "feature_extractor" block`)
	}
	if fe.Type != "WhisperFeatureExtractor" && (fe.Type != "" || fe.NMels == 0) {
		return MelConfig{}, fmt.Errorf("asr: feature extractor %q (n_mels %d), want WhisperFeatureExtractor", fe.Type, fe.NMels)
	}
	for key, v := range map[string]string{"mel_norm": fe.MelNorm, "mel_scale": fe.MelScale} {
		if v != "" && v != "slaney" {
			return MelConfig{}, fmt.Errorf("asr: feature_extractor %s %q, want slaney", key, v)
		}
	}
	if fe.Window != "" && !strings.HasPrefix(fe.Window, "hann") {
		return MelConfig{}, fmt.Errorf("asr: feature_extractor window %q, want periodic hann", fe.Window)
	}
	c := MelConfig{SampleRate: fe.SampleRate, NFFT: fe.NFFT, Hop: fe.Hop, NMels: fe.NMels, NSamples: fe.NSamples}
	if c.NSamples == 0 && fe.MaxFrames > 0 {
		c.NSamples = fe.MaxFrames * c.withDefaults().Hop
	}
	if fe.MaxFrames > 0 && c.Frames() != fe.MaxFrames {
		return MelConfig{}, fmt.Errorf("asr: feature_extractor max_frames %d != n_samples/hop_length %d", fe.MaxFrames, c.Frames())
	}
	return c.withDefaults(), c.Validate()
}

// MelConfigFromPreprocessor reads a Hugging Face Whisper preprocessor_config.json: keys
// feature_size, sampling_rate, hop_length, n_fft, chunk_length (seconds), n_samples and
// nb_max_frames. n_samples wins over chunk_length; dither and padding_value must be 0.
// Missing keys take Whisper's defaults; the result has every field set.
func MelConfigFromPreprocessor(preprocessorJSON []byte) (MelConfig, error) {
	var p struct {
		Type         string   `json:"feature_extractor_type"`
		FeatureSize  int      `json:"feature_size"`
		SampleRate   int      `json:"sampling_rate"`
		Hop          int      `json:"hop_length"`
		NFFT         int      `json:"n_fft"`
		ChunkLength  float64  `json:"chunk_length"`
		NSamples     int      `json:"n_samples"`
		NbMaxFrames  int      `json:"nb_max_frames"`
		Dither       float64  `json:"dither"`
		PaddingValue *float64 `json:"padding_value"`
	}
	if err := json.Unmarshal(preprocessorJSON, &p); err != nil {
		return MelConfig{}, fmt.Errorf("asr: preprocessor_config.json: %w", err)
	}
	if p.Type != "WhisperFeatureExtractor" && (p.Type != "" || p.FeatureSize == 0) {
		return MelConfig{}, fmt.Errorf("asr: feature extractor %q (feature_size %d), want WhisperFeatureExtractor", p.Type, p.FeatureSize)
	}
	if p.Dither != 0 {
		return MelConfig{}, fmt.Errorf("asr: dither %g is not supported (deterministic features only)", p.Dither)
	}
	if p.PaddingValue != nil && *p.PaddingValue != 0 {
		return MelConfig{}, fmt.Errorf("asr: padding_value %g, want 0", *p.PaddingValue)
	}
	c := MelConfig{SampleRate: p.SampleRate, NFFT: p.NFFT, Hop: p.Hop, NMels: p.FeatureSize, NSamples: p.NSamples}
	if c.NSamples == 0 && p.ChunkLength > 0 {
		c.NSamples = int(math.Round(p.ChunkLength * float64(c.withDefaults().SampleRate)))
	}
	if p.NbMaxFrames > 0 && c.Frames() != p.NbMaxFrames {
		return MelConfig{}, fmt.Errorf("asr: nb_max_frames %d != n_samples/hop_length %d", p.NbMaxFrames, c.Frames())
	}
	return c.withDefaults(), c.Validate()
}

// LoadMelConfig reads a checkpoint directory's front end: preprocessor_config.json when
// present, else config.json's "feature_extractor" block.
func LoadMelConfig(dir string) (MelConfig, error) {
	b, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json"))
	if err == nil {
		return MelConfigFromPreprocessor(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return MelConfig{}, fmt.Errorf("asr: %w", err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return MelConfig{}, fmt.Errorf("asr: %w", err)
	}
	return MelConfigFromCheckpoint(b)
}

// Mel computes Whisper log-mel features. It holds the window, the filter bank and a pool
// of FFT scratch, so one Mel serves any number of goroutines.
type Mel struct {
	cfg     MelConfig
	window  []float64   // [NFFT] periodic Hann
	filters []melFilter // [NMels]
	scratch sync.Pool   // *melScratch
}

// melFilter is one triangular filter: weights for FFT bins first..first+len(w)-1, the
// only bins where it is non-zero.
type melFilter struct {
	first int
	w     []float64
}

// melScratch is one goroutine's working memory; gonum's FFT is not safe for concurrent use.
type melScratch struct {
	fft   *fourier.FFT
	frame []float64    // [NFFT]
	coef  []complex128 // [NFFT/2+1]
	mel   []float64    // [NMels]
}

// NewMel validates cfg (zero fields take Whisper's defaults) and precomputes the window
// and filters.
func NewMel(cfg MelConfig) (*Mel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Mel{cfg: cfg, window: hannPeriodic(cfg.NFFT)}
	bank := slaneyFilterBank(cfg.NFFT/2+1, cfg.NMels, float64(cfg.SampleRate))
	m.filters = make([]melFilter, cfg.NMels)
	for j := range m.filters {
		first, last := -1, -1
		for k := range bank {
			if bank[k][j] != 0 {
				if first < 0 {
					first = k
				}
				last = k
			}
		}
		if first < 0 {
			continue // an empty filter (only with more filters than bins) sums to 0
		}
		w := make([]float64, last-first+1)
		for k := range w {
			w[k] = bank[first+k][j]
		}
		m.filters[j] = melFilter{first: first, w: w}
	}
	m.scratch.New = func() any {
		return &melScratch{
			fft:   fourier.NewFFT(cfg.NFFT),
			frame: make([]float64, cfg.NFFT),
			coef:  make([]complex128, cfg.NFFT/2+1),
			mel:   make([]float64, cfg.NMels),
		}
	}
	return m, nil
}

// Config returns the configuration with defaults filled in.
func (m *Mel) Config() MelConfig { return m.cfg }

// LogMel returns the features of one utterance: samples (mono, SampleRate Hz, [-1, 1]) are
// zero-padded or truncated to NSamples, audio at the start. The result is
// [NMels, NSamples/Hop] row-major (mel bin major, frames contiguous).
func (m *Mel) LogMel(samples []float32) []float32 {
	return m.logMel(nil, samples, m.cfg.NSamples)
}

// LogMelUnpadded returns the features of samples as they are, for a caller that cuts and
// pads its own windows of long audio: [NMels, len(samples)/Hop] row-major, the floor at
// maximum-8 taken over this input only. It equals LogMel when len(samples) == NSamples.
func (m *Mel) LogMelUnpadded(samples []float32) []float32 {
	return m.logMel(nil, samples, len(samples))
}

// AppendLogMelUnpadded is LogMelUnpadded appending to dst, to reuse a buffer across windows.
func (m *Mel) AppendLogMelUnpadded(dst, samples []float32) []float32 {
	return m.logMel(dst, samples, len(samples))
}

// logMel computes the features of the signal x[0:n] (x zero-extended or cut to n samples)
// and appends them to dst.
func (m *Mel) logMel(dst, x []float32, n int) []float32 {
	if len(x) > n {
		x = x[:n]
	}
	c := m.cfg
	frames := n / c.Hop
	start := len(dst)
	dst = append(dst, make([]float32, c.NMels*frames)...)
	out := dst[start:] // [NMels, frames]
	if frames == 0 {
		return dst
	}
	s := m.scratch.Get().(*melScratch)
	defer m.scratch.Put(s)

	half := c.NFFT / 2
	silent := float32(math.Log10(melLogFloor)) // an all-zero frame
	maxv := float32(math.Inf(-1))
	for t := range frames {
		// Frame t covers samples t*Hop-half .. t*Hop-half+NFFT-1 of the reflect-padded signal.
		lo := t*c.Hop - half
		nonzero := false
		if lo >= 0 && lo+c.NFFT <= len(x) {
			for i, v := range x[lo : lo+c.NFFT] {
				s.frame[i] = float64(v)
				nonzero = nonzero || v != 0
			}
		} else {
			for i := range s.frame {
				v := sampleAt(x, n, lo+i)
				s.frame[i] = float64(v)
				nonzero = nonzero || v != 0
			}
		}
		if !nonzero {
			for j := range c.NMels {
				out[j*frames+t] = silent
			}
			maxv = max(maxv, silent)
			continue
		}
		for i, w := range m.window {
			s.frame[i] *= w
		}
		s.fft.Coefficients(s.coef, s.frame)
		for j, f := range m.filters {
			var sum float64
			for k, w := range f.w {
				z := s.coef[f.first+k]
				sum += w * (real(z)*real(z) + imag(z)*imag(z))
			}
			v := float32(math.Log10(max(sum, melLogFloor)))
			out[j*frames+t] = v
			maxv = max(maxv, v)
		}
	}
	floor := maxv - melDynRange
	for i, v := range out {
		out[i] = (max(v, floor) + 4) / 4
	}
	return dst
}

// sampleAt returns sample i of x zero-extended to n samples, reflected at both ends
// (numpy's "reflect", repeated when the padding exceeds the signal).
func sampleAt(x []float32, n, i int) float32 {
	if n == 1 {
		i = 0
	} else if i < 0 || i >= n {
		period := 2 * (n - 1)
		i %= period
		if i < 0 {
			i += period
		}
		if i >= n {
			i = period - i
		}
	}
	if i < len(x) {
		return x[i]
	}
	return 0
}

// hannPeriodic is numpy's hanning(n+1)[:-1]: 0.5 + 0.5*cos(pi*k/n) for k = -n, -n+2, ..., n-2.
func hannPeriodic(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 + 0.5*math.Cos(math.Pi*float64(2*i-n)/float64(n))
	}
	return w
}

// Slaney mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
const (
	slaneyMinLogHz  = 1000.0
	slaneyMinLogMel = 15.0
)

var slaneyLogStep = math.Log(6.4) / 27.0

func hzToMelSlaney(f float64) float64 {
	if f >= slaneyMinLogHz {
		return slaneyMinLogMel + math.Log(f/slaneyMinLogHz)*(27.0/math.Log(6.4))
	}
	return 3.0 * f / 200.0
}

func melToHzSlaney(m float64) float64 {
	if m >= slaneyMinLogMel {
		return slaneyMinLogHz * math.Exp(slaneyLogStep*(m-slaneyMinLogMel))
	}
	return 200.0 * m / 3.0
}

// slaneyFilterBank is transformers' mel_filter_bank(bins, nMels, 0, 8000, sr,
// norm="slaney", mel_scale="slaney"): [bins][nMels].
func slaneyFilterBank(bins, nMels int, sr float64) [][]float64 {
	linspace := func(a, b float64, n int) []float64 {
		y := make([]float64, n)
		step := (b - a) / float64(n-1)
		for i := range y {
			y[i] = float64(i)*step + a
		}
		y[n-1] = b
		return y
	}
	fftFreqs := linspace(0, math.Floor(sr/2), bins)
	mels := linspace(hzToMelSlaney(0), hzToMelSlaney(melFMax), nMels+2)
	pts := make([]float64, len(mels)) // filter edges and centres, Hz
	for i, m := range mels {
		pts[i] = melToHzSlaney(m)
	}
	bank := make([][]float64, bins)
	for k, f := range fftFreqs {
		bank[k] = make([]float64, nMels)
		for j := range nMels {
			down := -(pts[j] - f) / (pts[j+1] - pts[j])
			up := (pts[j+2] - f) / (pts[j+2] - pts[j+1])
			w := max(0, min(down, up))
			bank[k][j] = w * (2.0 / (pts[j+2] - pts[j]))
		}
	}
	return bank
}
