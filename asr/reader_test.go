package asr

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// TestReaderMatchesDecode reads every fixture through NewReader in odd-sized pieces and
// wants Decode's samples and info.
func TestReaderMatchesDecode(t *testing.T) {
	files := []string{"testdata/speech-16k.flac", "testdata/tone-48k-24bit-5ch.flac", "testdata/tone-44k-stereo.mp3",
		"testdata/speech-16k-mono.mp3", "../testdata/demo/speech/stereo-44k.flac", "../testdata/demo/speech/clip.mp3"}
	inputs := map[string][]byte{}
	for _, f := range files {
		inputs[filepath.Base(f)] = readFile(t, f)
	}
	inputs["wav-44.1k-stereo"] = pcm16(44100, 2, sines(440, 44100, 30000, 2, 0.5))
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			want, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(io.MultiReader(bytes.NewReader(data[:7]), bytes.NewReader(data[7:])), DecodeOptions{}) // not a Seeker
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			buf := make([]float32, 333)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, want.Samples) || r.Info() != want.Info {
				t.Fatalf("Reader gave %d samples, %v; Decode %d, %v", len(got), r.Info(), len(want.Samples), want.Info)
			}
		})
	}
}

// longWAV streams a WAV of secs seconds of 16 kHz 16-bit mono noise without holding it.
type longWAV struct {
	header []byte
	left   int64 // data bytes still to produce
	rng    *rand.Rand
}

func newLongWAV(secs int) *longWAV {
	h := pcm16(16000, 1, nil)
	n := int64(secs) * 16000 * 2
	binary.LittleEndian.PutUint32(h[4:], uint32(36+n))
	binary.LittleEndian.PutUint32(h[40:], uint32(n))
	return &longWAV{header: h, left: n, rng: rand.New(rand.NewPCG(3, 4))}
}

func (w *longWAV) Read(p []byte) (int, error) {
	if len(w.header) > 0 {
		n := copy(p, w.header)
		w.header = w.header[n:]
		return n, nil
	}
	if w.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), w.left)&^1]
	for i := 0; i < len(p); i += 2 {
		binary.LittleEndian.PutUint16(p[i:], uint16(int16(w.rng.IntN(16000)-8000)))
	}
	w.left -= int64(len(p))
	return len(p), nil
}

// TestReaderLongAudio streams 10 minutes through NewReader and checks its buffers stay
// a few hundred KB (the audio is 19 MB of WAV, 38 MB of float32), and that MaxSeconds
// rejects it having read only the header.
func TestReaderLongAudio(t *testing.T) {
	r, err := NewReader(newLongWAV(600), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 4096)
	var total, maxHeld int
	for {
		n, err := r.Read(buf)
		total += n
		maxHeld = max(maxHeld, r.bufferedBytes())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if total != 600*16000 || r.Info().Seconds != 600 {
		t.Fatalf("read %d samples (%.1f s), want %d", total, r.Info().Seconds, 600*16000)
	}
	t.Logf("reader buffers at most %d bytes", maxHeld)
	if maxHeld > 256<<10 {
		t.Fatalf("reader held %d bytes, want <= 256 KiB", maxHeld)
	}

	src := &countingReader{r: newLongWAV(600)}
	_, err = NewReader(src, DecodeOptions{MaxSeconds: 60})
	if ReasonOf(err) != ReasonTooLong || src.n > 32<<10 {
		t.Fatalf("MaxSeconds 60: err %v after reading %d bytes, want too-long from the header", err, src.n)
	}
}

// sparseFile is an io.ReadSeeker over head, then size zero bytes, then tail, without
// holding the zeros; it counts the bytes read from it.
type sparseFile struct {
	head, tail []byte
	zeros      int64
	off, read  int64
}

func (f *sparseFile) size() int64 { return int64(len(f.head)) + f.zeros + int64(len(f.tail)) }

func (f *sparseFile) Read(p []byte) (int, error) {
	if f.off >= f.size() {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && f.off < f.size() {
		switch h, z := int64(len(f.head)), f.zeros; {
		case f.off < h:
			k := copy(p[n:], f.head[f.off:])
			n, f.off = n+k, f.off+int64(k)
		case f.off < h+z:
			k := int(min(int64(len(p)-n), h+z-f.off))
			clear(p[n : n+k])
			n, f.off = n+k, f.off+int64(k)
		default:
			k := copy(p[n:], f.tail[f.off-h-z:])
			n, f.off = n+k, f.off+int64(k)
		}
	}
	f.read += int64(n)
	return n, nil
}

func (f *sparseFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += f.off
	case io.SeekEnd:
		off += f.size()
	}
	f.off = off
	return off, nil
}

// TestReaderSeeksPastChunks decodes WAV and FLAC files with a 256 MiB chunk or 16 MiB block
// before the audio (a JUNK chunk; a PADDING block) from an io.Seeker: it seeks over
// them, reading a few KB, and decodes what a plain read of the same bytes decodes.
func TestReaderSeeksPastChunks(t *testing.T) {
	const junk = 256 << 20
	wavData := pcm16(16000, 1, sines(440, 16000, 1600, 1, 0.5))
	flacFile := readFile(t, "testdata/speech-16k.flac")
	first := flacFrameStarts(flacFile)[1]
	oneFrame := patchFLAC(t, flacFile[:first], 0, 4096)
	padded := withFLACBlock(t, oneFrame, 1, 1<<24-1, nil) // PADDING: the most a block may declare
	tests := []struct {
		name    string
		file    *sparseFile
		samples int
	}{
		{"WAV with a 256 MiB JUNK chunk", &sparseFile{head: slices.Concat(wavData[:36], chunk("JUNK", junk, nil)), zeros: junk, tail: wavData[36:]}, 1600},
		{"FLAC with a 16 MiB PADDING block", &sparseFile{head: padded[:46], zeros: 1<<24 - 1, tail: padded[46:]}, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(tt.file, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.samples || tt.file.read > 256<<10 {
				t.Fatalf("%d samples after reading %s bytes; want %d, reading at most 256 KiB", len(got), commas(tt.file.read), tt.samples)
			}
			tt.file.off, tt.file.read = 0, 0
			want, err := readAll(struct{ io.Reader }{tt.file}, DecodeOptions{}) // reads through the zeros
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("read without seeking: %d samples, %v; seeking %d", len(want), err, len(got))
			}
		})
	}
}
