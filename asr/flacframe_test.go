package asr

import (
	"bytes"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// decodeFLACFrames decodes every frame of the FLAC file b with flacFrames: the
// samples of each channel.
func decodeFLACFrames(t *testing.T, b []byte) [][]int64 {
	t.Helper()
	in := newInput(bytes.NewReader(b))
	if _, err := sniff(in); err != nil {
		t.Fatal(err)
	}
	body, err := readFLACMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	si, err := parseFLACStreamInfo(body)
	if err != nil {
		t.Fatal(err)
	}
	f := flacFrames{br: bitReader{in: in}, channels: si.channels, rate: si.rate, bits: si.bits, samples: make([][]int64, si.channels)}
	out := make([][]int64, si.channels)
	for {
		err := f.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("frame %d: %v", f.nframe-1, err)
		}
		for c := range out {
			out[c] = append(out[c], f.samples[c][:f.block]...)
		}
	}
}

// decodeMewkiz decodes every frame of the FLAC file b with github.com/mewkiz/flac.
func decodeMewkiz(t *testing.T, b []byte) [][]int64 {
	t.Helper()
	s, err := flac.New(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]int64, s.Info.NChannels)
	for {
		f, err := s.ParseNext()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for c, sub := range f.Subframes {
			for _, v := range sub.Samples[:f.BlockSize] {
				out[c] = append(out[c], int64(v))
			}
		}
	}
}

// TestFLACFramesMatchMewkiz decodes FLAC files made by the reference encoder (the
// fixtures) and by mewkiz/flac's encoder from random frames of every subframe type,
// channel assignment, sample size, block size and rate coding, and wants exactly the
// samples mewkiz/flac decodes.
func TestFLACFramesMatchMewkiz(t *testing.T) {
	files := map[string][]byte{}
	for _, p := range []string{"testdata/speech-16k.flac", "testdata/tone-48k-24bit-5ch.flac", "../testdata/demo/speech/stereo-44k.flac"} {
		files[p] = readFile(t, p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		files["random "+commas(int64(i))] = randomFLAC(t, rng)
	}
	for name, b := range files {
		got, want := decodeFLACFrames(t, b), decodeMewkiz(t, b)
		for c := range want {
			if len(got[c]) != len(want[c]) || len(want[c]) == 0 {
				t.Fatalf("%s: channel %d: %d samples, mewkiz/flac %d", name, c, len(got[c]), len(want[c]))
			}
			if !slices.Equal(got[c], want[c]) {
				k := 0
				for got[c][k] == want[c][k] {
					k++
				}
				t.Fatalf("%s: channel %d sample %d = %d, mewkiz/flac %d", name, c, k, got[c][k], want[c][k])
			}
		}
	}
}

// randomFLAC encodes a few random frames with mewkiz/flac: a random rate, channel
// count and sample size, and for each frame a random block size and channel
// assignment, and for each subframe a random prediction, wasted bits and residual
// coding.
func randomFLAC(t testing.TB, rng *rand.Rand) []byte {
	t.Helper()
	rate := []int{8000, 16000, 22050, 44100, 48000, 96000, 192000, 12345, 64000, 384000}[rng.IntN(10)]
	channels := 1 + rng.IntN(8)
	bps := []int{8, 12, 16, 20, 24}[rng.IntN(5)]
	var buf bytes.Buffer
	enc, err := flac.NewEncoder(&buf, &meta.StreamInfo{BlockSizeMin: 16, BlockSizeMax: 65535, SampleRate: uint32(rate), NChannels: uint8(channels), BitsPerSample: uint8(bps)})
	if err != nil {
		t.Fatal(err)
	}
	for range 1 + rng.IntN(3) {
		block := []int{192, 576, 1152, 4096, 256, 1000, 100, 17, 65535}[rng.IntN(9)]
		assign := frame.Channels(channels - 1)
		if channels == 2 {
			assign = []frame.Channels{frame.ChannelsLR, frame.ChannelsLeftSide, frame.ChannelsSideRight, frame.ChannelsMidSide}[rng.IntN(4)]
		}
		f := &frame.Frame{Header: frame.Header{HasFixedBlockSize: true, BlockSize: uint16(block), SampleRate: uint32(rate), Channels: assign, BitsPerSample: uint8(bps)}}
		for range channels {
			f.Subframes = append(f.Subframes, randomSubframe(rng, block, bps))
		}
		f.Decorrelate() // choose the wasted bits and Rice parameters for what is coded
		for _, sub := range f.Subframes {
			codeResiduals(rng, sub)
		}
		f.Correlate()
		if err := enc.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomSubframe is a subframe of block samples of a noisy sine in bps bits (one bit
// less, so that a side channel fits), with its coding chosen at random.
func randomSubframe(rng *rand.Rand, block, bps int) *frame.Subframe {
	wasted := uint(rng.IntN(3))
	amp := math.Ldexp(0.9, bps-2)
	freq, noise := rng.Float64()*0.1, rng.Float64()*0.05
	s := make([]int32, block)
	for i := range s {
		v := amp * (math.Sin(freq*float64(i)) + noise*rng.NormFloat64())
		s[i] = int32(math.Round(max(-amp, min(amp, v)))) >> wasted << wasted
	}
	sub := &frame.Subframe{Samples: s, NSamples: block}
	sub.Wasted = wasted // at most; codeResiduals keeps what the coded samples allow
	switch p := rng.IntN(5); {
	case p == 0:
		sub.Pred = frame.PredConstant
		for i := range s {
			s[i] = s[0]
		}
		return sub
	case p == 1:
		sub.Pred = frame.PredVerbatim
		return sub
	case p == 2:
		sub.Pred, sub.Order = frame.PredFixed, rng.IntN(min(5, block+1))
	default:
		// A fixed polynomial scaled by 2^shift, padded with zero coefficients.
		sub.Pred, sub.Order = frame.PredFIR, 1+rng.IntN(min(32, block))
		poly := frame.FixedCoeffs[1+rng.IntN(min(4, sub.Order))]
		sub.CoeffShift = int32(rng.IntN(8))
		sub.CoeffPrec = 15
		sub.Coeffs = make([]int32, sub.Order)
		for j, c := range poly {
			sub.Coeffs[j] = c << sub.CoeffShift
		}
	}
	return sub
}

// codeResiduals sets a predicted subframe's wasted bits (at most sub.Wasted, what its
// samples allow) and its residual coding: a random method and partition order, and
// Rice parameters fitting each partition, or escaped partitions.
func codeResiduals(rng *rand.Rand, sub *frame.Subframe) {
	var or int32
	for _, v := range sub.Samples {
		or |= v
	}
	sub.Wasted = min(sub.Wasted, uint(bits.TrailingZeros32(uint32(or))))
	if sub.Pred == frame.PredConstant && slices.ContainsFunc(sub.Samples, func(v int32) bool { return v != sub.Samples[0] }) {
		sub.Pred = frame.PredVerbatim // a side channel of constant channels that differ
	}
	if sub.Pred != frame.PredFixed && sub.Pred != frame.PredFIR {
		return
	}
	block := sub.NSamples
	res := residuals(sub)
	sub.ResidualCodingMethod = frame.ResidualCodingMethod(rng.IntN(2))
	porder := rng.IntN(9)
	for porder > 0 && (block%(1<<porder) != 0 || block>>porder < sub.Order) {
		porder--
	}
	sub.RiceSubframe = &frame.RiceSubframe{PartOrder: porder}
	size := block >> porder
	for p := range 1 << porder {
		n := size
		if p == 0 {
			n -= sub.Order
		}
		part, folded := res[:n], uint32(0)
		res = res[n:]
		for _, r := range part {
			folded = max(folded, uint32(r<<1^r>>31))
		}
		k := uint(max(bits.Len32(folded)-3, 0))
		escape := uint(15)
		if sub.ResidualCodingMethod == frame.ResidualCodingMethodRice2 {
			escape = 31
		}
		rp := frame.RicePartition{Param: min(k, escape-1)}
		if k >= escape || rng.IntN(6) == 0 {
			rp.Param, rp.EscapedBitsPerSample = escape, uint(bits.Len32(folded)+1)
		}
		sub.RiceSubframe.Partitions = append(sub.RiceSubframe.Partitions, rp)
	}
}

// residuals is what a fixed or linear-predictive subframe's predictor leaves of its
// samples (after the wasted bits): [NSamples - Order].
func residuals(sub *frame.Subframe) []int32 {
	coeffs, shift := sub.Coeffs, sub.CoeffShift
	if sub.Pred == frame.PredFixed {
		coeffs, shift = frame.FixedCoeffs[sub.Order], 0
	}
	s := make([]int64, len(sub.Samples))
	for i, v := range sub.Samples {
		s[i] = int64(v >> sub.Wasted)
	}
	var res []int32
	for i := sub.Order; i < len(s); i++ {
		var sum int64
		for j, c := range coeffs {
			sum += int64(c) * s[i-1-j]
		}
		res = append(res, int32(s[i]-sum>>shift))
	}
	return res
}
