package asr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// flacBombSpec is a FLAC stream of constant subframes: frames × block samples of
// silence at rate Hz, channels channels, 16-bit, about 4 bytes a channel a frame.
type flacBombSpec struct {
	rate, channels, frames, block int
	total                         int64 // STREAMINFO total samples; 0 = unknown
}

// flacBomb writes s by hand (mewkiz/flac's encoder hashes every sample it writes).
func flacBomb(s flacBombSpec) []byte {
	var b bytes.Buffer
	b.WriteString("fLaC")
	b.Write([]byte{0x80, 0, 0, flacStreamInfoLen})
	si := make([]byte, flacStreamInfoLen)
	binary.BigEndian.PutUint16(si[0:], uint16(s.block))
	binary.BigEndian.PutUint16(si[2:], uint16(s.block))
	binary.BigEndian.PutUint64(si[10:], uint64(s.rate)<<44|uint64(s.channels-1)<<41|uint64(15)<<36|uint64(s.total))
	b.Write(si)
	for n := range s.frames {
		f := []byte{0xFF, 0xF8, 0x70, byte(s.channels-1)<<4 | 4<<1} // 16-bit block size follows; rate from STREAMINFO; 16-bit
		f = appendUTF8Num(f, uint64(n))
		f = binary.BigEndian.AppendUint16(f, uint16(s.block-1))
		f = append(f, flacCRC8(f))
		for range s.channels {
			f = append(f, 0, 0, 0) // constant subframe, value 0
		}
		f = binary.BigEndian.AppendUint16(f, crc16(0, f))
		b.Write(f)
	}
	return b.Bytes()
}

// appendUTF8Num appends x in FLAC's extended UTF-8 coding (up to 36 bits).
func appendUTF8Num(b []byte, x uint64) []byte {
	if x < 0x80 {
		return append(b, byte(x))
	}
	n := 2 // bytes
	for x >= 1<<(5*n+1) {
		n++
	}
	lead := byte(0xFF<<(8-n)) | byte(x>>(6*(n-1)))
	b = append(b, lead)
	for i := n - 2; i >= 0; i-- {
		b = append(b, 0x80|byte(x>>(6*i))&0x3F)
	}
	return b
}

// mp3Bomb is frames silent MPEG Layer III frames, each header h (4 bytes) followed by
// zero side information and main data: the shortest frames there are.
func mp3Bomb(h [4]byte, frames int) []byte {
	hd, _ := parseMP3Header(h[:])
	f := make([]byte, hd.size())
	copy(f, h[:])
	return bytes.Repeat(f, frames)
}

var (
	mp3Tiny24k = [4]byte{0xFF, 0xF3, 0x14, 0xC0} // MPEG-2, 24 kHz, 8 kbit/s, mono: 24 bytes, 576 samples
	mp3Tiny48k = [4]byte{0xFF, 0xFB, 0x14, 0x00} // MPEG-1, 48 kHz, 32 kbit/s, stereo: 96 bytes, 1,152 samples
)

// cost runs f and reports its wall time and the bytes allocated meanwhile.
func cost(f func()) (time.Duration, uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	return took, after.TotalAlloc - before.TotalAlloc
}

// bombCase is a small input that decodes (or would decode) to far more audio than its
// size, and what Decode must make of it within the budget: allocBudget beyond the
// input (the MP3 decoder, like the FLAC one, reuses its buffers frame after frame).
type bombCase struct {
	name       string
	in         []byte
	opts       DecodeOptions
	wantReason Reason  // "" = it decodes
	wantMsg    string  // substring of the error
	seconds    float64 // when it decodes
}

// TestDecodeBombs is the table of decompression bombs: FLAC files of constant
// subframes at the highest rate and channel count (the bomb class: about 35 bytes hold
// 65,535 samples of 8 channels), told or not told their length by STREAMINFO, and the
// inputs just inside the limits; MP3 files of the shortest frames (24 bytes for 576
// samples: a bounded expansion, which MaxSeconds stops); WAV at the lowest rate. Each
// must end as the table says, allocating at most the budget; the time is logged, not
// checked (machines are noisy), but is a fraction of a second for the rejected ones.
func TestDecodeBombs(t *testing.T) {
	// Under the race detector (about ten times slower) the limit is a tenth of the
	// default, and the inputs with it.
	opts, secs := DecodeOptions{}, float64(DefaultMaxSeconds)
	if raceEnabled || testing.Short() {
		secs = DefaultMaxSeconds / 10
		opts.MaxSeconds = secs
	}
	work := int64(secs * workPerSecond)
	blocks := func(rate int, s float64) int { return int(s * float64(rate) / 65535) } // whole 65,535-sample frames in s seconds
	const hiRate, block = 384000, 65535
	mp3Frames := func(s float64) int { return int(s*24000/576) + 1 } // 24 kHz frames in s seconds
	vbr := func(frames int) []byte {                                 // a 160 kbit/s first frame, so the size says 1/20 of the length
		return append(mp3Bomb([4]byte{0xFF, 0xF3, 0xE4, 0xC0}, 1), mp3Bomb(mp3Tiny24k, frames-1)...)
	}
	hi8, over, tenth := blocks(hiRate, secs*1.07), mp3Frames(secs*1.04), blocks(hiRate, secs/10)
	cases := []bombCase{
		{name: "FLAC 384 kHz 8 channels, length unknown (131 KB at the default limit)", in: flacBomb(flacBombSpec{rate: hiRate, channels: 8, frames: hi8, block: block}),
			wantReason: ReasonTooLarge, wantMsg: fmt.Sprintf("384,000 Hz 8-channel audio: more than %s samples to decode (%g s of it)", commas(work), float64(work/8)/hiRate)},
		{name: "FLAC 384 kHz 8 channels, STREAMINFO declares the length", in: flacBomb(flacBombSpec{rate: hiRate, channels: 8, frames: hi8, block: block, total: int64(hi8 * block)}),
			wantReason: ReasonTooLong, wantMsg: fmt.Sprintf("header declares %s of audio, limit %g s", seconds(int64(hi8*block), hiRate), secs)},
		{name: "FLAC 384 kHz 8 channels, STREAMINFO declares a tenth of the limit", in: flacBomb(flacBombSpec{rate: hiRate, channels: 8, frames: tenth, block: block, total: int64(tenth * block)}),
			wantReason: ReasonTooLarge, wantMsg: fmt.Sprintf("header declares %s of 384,000 Hz 8-channel audio, %s samples to decode; limit %s",
				seconds(int64(tenth*block), hiRate), commas(int64(tenth*block*8)), commas(work))},
		{name: "FLAC 384 kHz mono, length unknown", in: flacBomb(flacBombSpec{rate: hiRate, channels: 1, frames: hi8, block: block}),
			wantReason: ReasonTooLarge, wantMsg: fmt.Sprintf("more than %s samples to decode (%g s of it)", commas(work), float64(work/2)/hiRate)},
		{name: "FLAC 8 kHz 8 channels, length unknown, past the limit", in: flacBomb(flacBombSpec{rate: 8000, channels: 8, frames: blocks(8000, secs) + 2, block: block}),
			wantReason: ReasonTooLong, wantMsg: fmt.Sprintf("more than %g s of audio", secs)},
		{name: "FLAC 48 kHz stereo, length unknown, past the limit", in: flacBomb(flacBombSpec{rate: 48000, channels: 2, frames: blocks(48000, secs) + 2, block: block}),
			wantReason: ReasonTooLong, wantMsg: fmt.Sprintf("more than %g s of audio", secs)},
		{name: "FLAC 48 kHz stereo, length unknown, just inside the limit", in: flacBomb(flacBombSpec{rate: 48000, channels: 2, frames: blocks(48000, secs), block: block}),
			seconds: float64(blocks(48000, secs)*block) / 48000},
		{name: "FLAC 16 kHz mono, length unknown, just inside the limit", in: flacBomb(flacBombSpec{rate: 16000, channels: 1, frames: blocks(16000, secs), block: block}),
			seconds: float64(blocks(16000, secs)*block) / 16000},
		{name: "MP3 of 24-byte frames past the limit (the size gives the length)", in: mp3Bomb(mp3Tiny24k, over),
			wantReason: ReasonTooLong, wantMsg: fmt.Sprintf("header declares %s of audio, limit %g s", seconds(int64(over*576), 24000), secs)},
		{name: "MP3 of 24-byte frames after a 480-byte one, past the limit", in: vbr(over),
			wantReason: ReasonTooLong, wantMsg: fmt.Sprintf("more than %g s of audio", secs)},
		{name: "MP3 of 24-byte frames, 22% of the limit (131 KB at the default)", in: mp3Bomb(mp3Tiny24k, mp3Frames(secs*0.218)),
			seconds: float64(mp3Frames(secs*0.218)*576) / 24000},
		{name: "MP3 of 96-byte 48 kHz stereo frames, 5% of the limit", in: mp3Bomb(mp3Tiny48k, int(secs*0.05*48000/1152)),
			seconds: float64(int(secs*0.05*48000/1152)*1152) / 48000},
		{name: "WAV 1 kHz 8-bit mono, 64 KB (65.5 s)", in: makeWAV(wavSpec{tag: wavPCM, bits: 8, rate: 1000, channels: 1}, make([]float64, 65500)),
			opts: DecodeOptions{MaxSeconds: 100}, seconds: 65.5},
	}
	for i := range cases {
		if cases[i].opts == (DecodeOptions{}) {
			cases[i].opts = opts
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a Audio
			var err error
			took, alloc := cost(func() { a, err = Decode(c.in, c.opts) })
			budget := uint64(allocBudget + len(c.in))
			t.Logf("%s bytes: %v, %s bytes allocated (budget %s), %d samples: %v", commas(int64(len(c.in))), took.Round(time.Millisecond),
				commas(int64(alloc)), commas(int64(budget)), len(a.Samples), err)
			if alloc > budget {
				t.Errorf("allocated %s bytes, budget %s", commas(int64(alloc)), commas(int64(budget)))
			}
			if c.wantReason != "" {
				wantError(t, "Decode", err, len(a.Samples), c.wantReason, c.wantMsg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := a.Info.Seconds - c.seconds; d < -0.05 || d > 0.05 {
				t.Errorf("decoded %.3f s, want %.3f", a.Info.Seconds, c.seconds)
			}
		})
	}
}

// TestReaderWorkFromHeader: a WAV header declaring 10 s of 384 kHz 64-channel audio
// (245 MB of samples, the work of 2,560 s of 48 kHz stereo) is refused as too large
// from the header, having read a few KB.
func TestReaderWorkFromHeader(t *testing.T) {
	const n = 10 * 384000 * 64
	h := makeWAV(wavSpec{tag: wavPCM, bits: 8, rate: 384000, channels: 64, extensible: true, dataSize: n}, nil)
	f := &sparseFile{head: h, zeros: n}
	_, err := NewReader(f, DecodeOptions{})
	wantError(t, "NewReader", err, 0, ReasonTooLarge, "header declares 10.0 s of 384,000 Hz 64-channel audio, 245,760,000 samples to decode; limit 57,600,000")
	if f.read > 64<<10 {
		t.Fatalf("read %s bytes", commas(f.read))
	}
}
