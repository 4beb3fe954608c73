package asr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mewkiz/flac"
	"github.com/mewkiz/flac/frame"
	"github.com/mewkiz/flac/meta"
)

// Fuzzing: FuzzDecode goes through the sniffing entry point from every format's seeds;
// FuzzDecodeWAV, FuzzDecodeFLAC and FuzzDecodeMP3 start from one format's valid files
// and hostile classes, committed under testdata/fuzz/<target>/ by TestFuzzSeeds.
// Run one with
//
//	go test -run='^$' -fuzz=FuzzDecodeWAV -fuzztime=60s -parallel=1 ./asr/

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// Most source frames an input of n bytes can hold, by format: a WAV frame is at least a
// byte; an MPEG Layer III frame of at least 24 bytes holds 576 samples; a FLAC frame of
// at least 8 bytes holds 65,535.
var framesPerByte = map[string]float64{"wav": 1, "mp3": 24, "flac": 65535.0 / 8}

// fuzzDecode is every fuzz target's body. For any input: no panic; either an *Error
// with a format, a reason and a message, or samples in [-1, 1] whose count agrees with
// Info.Seconds, the 1 s limit and the input's size; and the same from a reader that
// does not seek.
func fuzzDecode(t *testing.T, data []byte) {
	opts := DecodeOptions{MaxSeconds: 1}
	a, err := Decode(data, opts)
	checkFuzzResult(t, "Decode", data, a.Samples, a.Info, err)
	r, err := NewReader(struct{ io.Reader }{bytes.NewReader(data)}, opts)
	if err != nil {
		checkFuzzResult(t, "NewReader", data, nil, Info{}, err)
		return
	}
	var got []float32
	buf := make([]float32, 1000)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			checkFuzzResult(t, "Reader", data, got, r.Info(), nil)
			return
		}
		if err != nil {
			checkFuzzResult(t, "Reader", data, got, r.Info(), err)
			return
		}
	}
}

func checkFuzzResult(t *testing.T, what string, data []byte, samples []float32, info Info, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Format == "" || e.Reason == "" || e.Msg == "" {
			t.Fatalf("%s: error %T %v is not an *Error with a format, reason and message", what, err, err)
		}
		if (e.Format == "flac" || e.Format == "mp3") && strings.HasPrefix(e.Msg, "decoder failed") { // a panic in this package's FLAC or MP3 decoder, recovered
			t.Fatalf("%s: %v", what, err)
		}
		return
	}
	n := len(samples)
	if n == 0 || n > SampleRate+1 {
		t.Fatalf("%s: %d samples with a 1 s limit", what, n)
	}
	if d := float64(n) - info.Seconds*SampleRate; math.Abs(d) > 2 {
		t.Fatalf("%s: %d samples, but Seconds %.5f says %.1f", what, n, info.Seconds, info.Seconds*SampleRate)
	}
	frames := math.Round(info.Seconds * float64(info.SourceRate))
	if limit := framesPerByte[info.Format] * float64(len(data)); frames > limit {
		t.Fatalf("%s: %.0f %s frames from %d bytes, at most %.0f", what, frames, info.Format, len(data), limit)
	}
	if info.SourceRate < minRate || info.SourceRate > maxRate || info.Channels < 1 || info.Channels > wavMaxChannels {
		t.Fatalf("%s: info %+v", what, info)
	}
	for i, v := range samples {
		if !(v >= -1 && v <= 1) {
			t.Fatalf("%s: sample %d = %v", what, i, v)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(pcm16(16000, 1, sines(440, 16000, 64, 1, 0.5)))
	f.Add(makeWAV(wavSpec{tag: wavFloat, bits: 32, rate: 44100, channels: 2}, sines(440, 44100, 64, 2, 0.5)))
	f.Add(makeWAV(wavSpec{tag: wavPCM, bits: 24, validBits: 20, extensible: true, rate: 48000, channels: 3}, sines(440, 48000, 64, 3, 0.5)))
	flacFile := readFile(f, "testdata/speech-16k.flac")
	first := flacFrameStarts(flacFile)[1]
	oneFrame := patchFLAC(f, flacFile[:first], 0, 4096) // a whole stream of one 4,096-sample frame
	f.Add(oneFrame)
	f.Add(append(id3(4), oneFrame...))
	f.Add(readFile(f, "testdata/speech-16k-mono.mp3"))
	mp3File := readFile(f, "testdata/tone-44k-stereo.mp3")
	f.Add(mp3File[:2000])
	f.Fuzz(fuzzDecode)
}

func FuzzDecodeWAV(f *testing.F)  { f.Fuzz(fuzzDecode) }
func FuzzDecodeFLAC(f *testing.F) { f.Fuzz(fuzzDecode) }
func FuzzDecodeMP3(f *testing.F)  { f.Fuzz(fuzzDecode) }

// fuzzSeeds are the committed corpora: target → seed name → input. Each is at most
// 8 KiB, so the fuzzer mutates small inputs.
func fuzzSeeds(t testing.TB) map[string]map[string][]byte {
	seeds := map[string]map[string][]byte{"FuzzDecode": {}, "FuzzDecodeWAV": {}, "FuzzDecodeFLAC": {}, "FuzzDecodeMP3": {}}
	add := func(target, name string, in []byte) {
		if len(in) <= 8<<10 {
			seeds[target][seedName(name)] = in
		}
	}
	for _, c := range wavHostileCases() {
		add("FuzzDecodeWAV", c.name, c.in)
	}
	add("FuzzDecodeWAV", "valid float64 stereo", makeWAV(wavSpec{tag: wavFloat, bits: 64, rate: 22050, channels: 2}, sines(440, 22050, 200, 2, 0.5)))
	add("FuzzDecodeWAV", "valid 8-bit 8 kHz", makeWAV(wavSpec{tag: wavPCM, bits: 8, rate: 8000, channels: 1}, sines(440, 8000, 400, 1, 0.5)))
	add("FuzzDecodeWAV", "valid extensible float32", makeWAV(wavSpec{tag: wavFloat, bits: 32, extensible: true, rate: 48000, channels: 2}, sines(440, 48000, 300, 2, 0.5)))
	add("FuzzDecodeWAV", "demo speech 0012 first 4 KB", readFile(t, "../testdata/demo/speech/0012.wav")[:4096])

	tiny := tinyFLAC(t, 1024)
	add("FuzzDecodeFLAC", "valid one frame", tiny)
	add("FuzzDecodeFLAC", "valid after an ID3 tag", append(id3(16), tiny...))
	add("FuzzDecodeFLAC", "cut mid-frame", tiny[:len(tiny)-50])
	add("FuzzDecodeFLAC", "STREAMINFO claims 2^36-1 samples", patchFLAC(t, tiny, 0, 1<<36-1))
	add("FuzzDecodeFLAC", "STREAMINFO claims 8 channels", patchFLAC(t, tiny, 8, -1))
	add("FuzzDecodeFLAC", "demo stereo first 8 KB", readFile(t, "../testdata/demo/speech/stereo-44k.flac")[:8<<10])
	for _, c := range flacHostileCases(t, tiny, 1024) {
		add("FuzzDecodeFLAC", c.name, c.in)
	}
	bomb := flacBomb(flacBombSpec{rate: 384000, channels: 8, frames: 100, block: 65535})
	add("FuzzDecodeFLAC", "bomb 384 kHz 8 channels of constant subframes, length unknown", bomb)
	add("FuzzDecodeFLAC", "bomb 384 kHz mono of constant subframes, length unknown", flacBomb(flacBombSpec{rate: 384000, channels: 1, frames: 200, block: 65535}))
	add("FuzzDecodeFLAC", "bomb 48 kHz stereo, STREAMINFO declares 60 s", flacBomb(flacBombSpec{rate: 48000, channels: 2, frames: 50, block: 65535, total: 44 * 65535}))
	add("FuzzDecode", "FLAC bomb 384 kHz 8 channels", bomb)
	rng := rand.New(rand.NewPCG(5, 6))
	for i, n := 0, 0; n < 8 && i < 100; i++ { // every subframe type and channel assignment, from mewkiz/flac's encoder
		if b := randomFLAC(t, rng); len(b) <= 8<<10 {
			add("FuzzDecodeFLAC", fmt.Sprintf("mewkiz random %d", i), b)
			n++
		}
	}

	mp3 := readFile(t, "testdata/tone-44k-stereo.mp3")
	mp3First := 10 + (int(mp3[6])<<21 | int(mp3[7])<<14 | int(mp3[8])<<7 | int(mp3[9]))
	ends := mp3FrameEnds(mp3[mp3First:])
	five := mp3[:mp3First+ends[5]] // ID3, the Info frame and 5 audio frames
	xing := bytes.Clone(five)
	if i := bytes.Index(xing, []byte("Info")); i >= 0 {
		copy(xing[i:], "Xing")
		binary.BigEndian.PutUint32(xing[i+8:], 1<<31)
	}
	mid := mp3First + ends[2]
	add("FuzzDecodeMP3", "valid speech 16 kHz mono", readFile(t, "testdata/speech-16k-mono.mp3"))
	add("FuzzDecodeMP3", "valid 5 frames with Info header", five)
	add("FuzzDecodeMP3", "cut mid-frame", five[:len(five)-100])
	add("FuzzDecodeMP3", "Xing claims 2^31 frames", xing)
	add("FuzzDecodeMP3", "junk between frames", slices.Concat(five[:mid], []byte("junk between frames"), five[mid:]))
	add("FuzzDecodeMP3", "ID3 tag declaring 256 MiB between frames", slices.Concat(five[:mid], []byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f"), five[mid:]))
	add("FuzzDecodeMP3", "APE tag declaring 4 GiB after frames", slices.Concat(five, binary.LittleEndian.AppendUint32([]byte("APETAGEX\xd0\x07\x00\x00"), 0xFFFFFFF0), make([]byte, 20)))
	add("FuzzDecodeMP3", "trailing ID3v1 tag", slices.Concat(five, []byte("TAG"), make([]byte, 125)))
	add("FuzzDecodeMP3", "demo clip first 4 KB", readFile(t, "../testdata/demo/speech/clip.mp3")[:4096])
	add("FuzzDecodeMP3", "bomb of 24-byte frames", mp3Bomb(mp3Tiny24k, 300))
	add("FuzzDecodeMP3", "bomb of 24-byte frames after a 480-byte one", append(mp3Bomb([4]byte{0xFF, 0xF3, 0xE4, 0xC0}, 1), mp3Bomb(mp3Tiny24k, 300)...))
	add("FuzzDecodeMP3", "MPEG-2.5 frame", []byte{0xFF, 0xE3, 0x18, 0xC4, 0, 0, 0, 0})
	add("FuzzDecodeMP3", "MPEG-1 Layer II frames", bytes.Repeat(append([]byte{0xFF, 0xFD, 0x90, 0x04}, make([]byte, 518)...), 2))

	add("FuzzDecode", "ID3 tag declaring 256 MiB", []byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f\xff\xfb\x90\x64"))
	add("FuzzDecode", "ID3 tag before text", append(id3(10), "hello there"...))
	add("FuzzDecode", "RIFX", []byte("RIFX\x24\x00\x00\x00WAVEfmt "))
	add("FuzzDecode", "RIFF AVI", []byte("RIFF\x10\x00\x00\x00AVI LIST"))
	add("FuzzDecode", "UTF-16 text", []byte("\xff\xfeH\x00e\x00l\x00l\x00o\x00"))
	add("FuzzDecode", "Ogg", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"))
	return seeds
}

// tinyFLAC encodes n samples of a 440 Hz sine at 0.5, 16 kHz 16-bit mono, as one frame.
func tinyFLAC(t testing.TB, n int) []byte {
	t.Helper()
	samples := make([]int32, n)
	for i := range samples {
		samples[i] = int32(math.Round(16383 * math.Sin(2*math.Pi*440*float64(i)/16000)))
	}
	var buf bytes.Buffer
	info := &meta.StreamInfo{BlockSizeMin: uint16(n), BlockSizeMax: uint16(n), SampleRate: 16000, NChannels: 1, BitsPerSample: 16, NSamples: uint64(n)}
	enc, err := flac.NewEncoder(&buf, info)
	if err != nil {
		t.Fatal(err)
	}
	f := &frame.Frame{
		Header:    frame.Header{HasFixedBlockSize: true, BlockSize: uint16(n), SampleRate: 16000, Channels: frame.ChannelsMono, BitsPerSample: 16},
		Subframes: []*frame.Subframe{{SubHeader: frame.SubHeader{Pred: frame.PredVerbatim}, Samples: samples, NSamples: n}},
	}
	if err := enc.WriteFrame(f); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seedName makes a case name a file name: "LIST chunk declaring 4 GiB" → "list-chunk-declaring-4-gib".
func seedName(name string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// corpusFile is an input in Go's fuzz corpus file format.
func corpusFile(in []byte) []byte { return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", in) }

// TestFuzzSeeds checks that the committed seed corpora are what fuzzSeeds makes;
// go test ./asr/ -run TestFuzzSeeds -update-seeds rewrites them. Files it does not
// make (inputs the fuzzer found) are left alone.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, in := range seeds {
			path := filepath.Join(dir, name)
			if *updateSeeds {
				if err := os.WriteFile(path, corpusFile(in), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, corpusFile(in)) {
				t.Errorf("%s is missing or stale (%v); run go test ./asr/ -run TestFuzzSeeds -update-seeds", path, err)
			}
		}
	}
}
