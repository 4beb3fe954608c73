package asr

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
)

// SampleRate is the rate, in Hz, of every decoded stream (Whisper-style encoders).
const SampleRate = 16000

// DefaultMaxSeconds is DecodeOptions.MaxSeconds when it is zero.
const DefaultMaxSeconds = 600

// Limits on what is decoded; outside them decoding fails with ReasonUnsupported.
const (
	minRate     = 1000   // Hz
	maxRate     = 384000 // Hz
	maxChannels = 8      // FLAC's most, and L16's; WAV takes up to wavMaxChannels
)

// workPerSecond is the decoding work each second of DecodeOptions.MaxSeconds buys, in
// source samples: 48 kHz stereo. A source frame (one sample of every channel) counts
// max(channels, 2): decoding and averaging cost in proportion to the channels, the
// resampler (about 68 multiply-adds a source frame whatever the rate) in proportion
// to the frames, and a frame of resampling costs at least what two channels of FLAC
// decoding do. Longer than MaxSeconds fails with ReasonTooLong; more work than this
// with ReasonTooLarge, before any frame is decoded when the header gives the length,
// else as soon as the decoded frames cross it (within one source frame).
//
// The default MaxSeconds, 600, makes the budget 57,600,000: ten minutes of 48 kHz
// stereo, or of anything less (16 to 48 kHz, 1 or 2 channels: every speech
// recording), is accepted, and no accepted input costs more work than that, which on
// one shared core here is about 1.1 s for constant FLAC subframes and 2.6 s for real
// 44.1 kHz stereo FLAC, most of it resampling. The budget is 600 s of 48 kHz mono,
// 300 s of 96 kHz stereo, 150 s of 48 kHz 8-channel, 75 s of 384 kHz mono, or
// 18.75 s of 384 kHz 8-channel audio. Without it a 131 KB FLAC file of constant
// subframes (384 kHz, 8 channels, about 35 bytes a 65,535-sample frame) is 640 s of
// audio: 1.8 billion samples, which took 28 s to reach the 600 s limit.
const workPerSecond = 2 * 48000

// frameWork is the work of decoding one frame of a source with the given channels.
func frameWork(channels int) int64 { return int64(max(channels, 2)) }

// Audio is decoded audio: 16 kHz mono samples and what the source was.
type Audio struct {
	Samples []float32 // [⌈Info.Seconds·16000⌉] mono at SampleRate, in [-1, 1]
	Info    Info
}

// Info describes an audio input.
type Info struct {
	Format     string  // "wav", "flac" or "mp3"
	SourceRate int     // Hz
	Channels   int     // in the source; the output is their average
	BitDepth   int     // bits per source sample (valid bits for WAVE_FORMAT_EXTENSIBLE); 0 for MP3
	Float      bool    // IEEE float samples (WAV)
	Seconds    float64 // duration of the source audio
	Peak       float32 // largest |sample| of the 16 kHz output, 0 .. 1
	RMS        float32 // root mean square of the 16 kHz output
}

func (i Info) String() string {
	depth := ""
	if i.BitDepth > 0 {
		depth = fmt.Sprintf(", %d-bit", i.BitDepth)
		if i.Float {
			depth += " float"
		}
	}
	return fmt.Sprintf("%s, %.2f s, %d Hz, %d channel(s)%s", i.Format, i.Seconds, i.SourceRate, i.Channels, depth)
}

// DecodeOptions configures Decode and NewReader. The zero value works.
type DecodeOptions struct {
	// MaxSeconds is the longest audio accepted, in seconds. It is checked against the
	// length the header declares before any sample is decoded (WAV data chunk size,
	// FLAC STREAMINFO total, MP3 Xing frame count, or else an estimate from the file
	// size, when known, and the first frame's bit rate) and enforced while decoding.
	// The default is 600. It also sets the decoding work accepted: that many seconds
	// of 48 kHz stereo (workPerSecond); beyond it decoding fails with ReasonTooLarge.
	MaxSeconds float64
}

func (o DecodeOptions) maxSeconds() float64 {
	if o.MaxSeconds <= 0 {
		return DefaultMaxSeconds
	}
	return o.MaxSeconds
}

// Decode decodes a WAV, FLAC or MP3 file (sniffed from its bytes) into 16 kHz mono
// samples in [-1, 1]: channels are averaged, then resampled with a band-limited filter.
// Errors are *Error.
func Decode(data []byte, opts DecodeOptions) (Audio, error) {
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return Audio{}, err
	}
	// Size the output from the declared length, bounded by the most the limits let
	// through and by the bytes there are (2 samples a byte). Past that the slice grows
	// as samples arrive, doubling up to a quarter of the most and then straight to
	// the most, so that an output of unknown length costs at most 1.5 times the most
	// in all (57.6 MB at the default limits, 38.4 MB of it the longest output) and
	// holds at most 1.25 times it at once.
	most := (r.maxFrames()*SampleRate+int64(r.info.SourceRate)-1)/int64(r.info.SourceRate) + 2
	est := min(int64(2*len(data))+4096, most)
	if r.declared >= 0 {
		est = min(est, r.declared*SampleRate/int64(r.info.SourceRate)+1)
	}
	out := make([]float32, 0, est) // [≈ seconds·16000]
	for {
		if len(out) == cap(out) {
			grow := int64(max(cap(out), 4096))
			if int64(cap(out))+grow > most/4 {
				grow = max(most-int64(cap(out)), 4096)
			}
			grown := make([]float32, len(out), int64(cap(out))+grow) // not slices.Grow: under -race it allocates the growth twice
			copy(grown, out)
			out = grown
		}
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			return Audio{Samples: out, Info: r.Info()}, nil
		}
		if err != nil {
			return Audio{}, err
		}
	}
}

// Reader streams 16 kHz mono samples from a WAV, FLAC or MP3 input in pieces, holding
// only a few thousand samples (plus the resampler's kernel and one frame) however long
// the input is.
type Reader struct {
	src      source
	rs       *Resampler
	info     Info
	declared int64 // source frames the header declares, -1 unknown
	limit    int64 // most source frames accepted (MaxSeconds)
	work     int64 // most decoding work accepted, in source samples (workPerSecond)
	frames   int64 // source frames decoded
	decim    int64 // source frames per frame the source delivers
	outN     int64 // output samples returned
	sumSq    float64

	in      []float32 // [chunk] source-rate scratch
	out     []float32 // resampled samples not yet returned; a window of outBuf
	outBuf  []float32
	srcErr  error // the source's terminal error (io.EOF at the end), pending until out drains
	err     error // what Read returns once out is empty
	maxSecs float64
}

// A source decodes one format into mono frames at the source rate.
type source interface {
	// read decodes up to len(dst) frames (channels averaged) into dst; it returns io.EOF
	// after the last frame, an *Error on bad data, possibly with n > 0.
	read(dst []float32) (n int, err error)
	bufferedBytes() int
}

// header is what a format's opener learned before decoding samples.
type header struct {
	info   Info
	frames int64 // frames the header declares, -1 when it does not say
	// rate is the rate the source's read delivers, when it is not info.SourceRate
	// (0): an MP3 source at 44.1 or 48 kHz delivers every second sample.
	rate int
}

// NewReader reads the header of the WAV, FLAC or MP3 stream r (sniffed from its first
// bytes) and returns a Reader positioned at its first sample. When r is an io.Seeker
// (a file, *bytes.Reader) its size bounds what headers may declare, and chunks, blocks
// and tags that are not audio are passed over by seeking. Errors are *Error.
func NewReader(r io.Reader, opts DecodeOptions) (*Reader, error) {
	in := newInput(r)
	format, err := sniff(in)
	if err != nil {
		return nil, err
	}
	var (
		src source
		h   header
	)
	switch format {
	case "wav":
		src, h, err = openWAV(in)
	case "flac":
		src, h, err = openFLAC(in)
	case "mp3":
		src, h, err = openMP3(in)
	}
	if err != nil {
		return nil, err
	}
	rd := &Reader{src: src, info: h.info, declared: h.frames, maxSecs: opts.maxSeconds()}
	rd.limit = int64(math.Ceil(rd.maxSecs * float64(h.info.SourceRate)))
	rd.work = int64(math.Ceil(rd.maxSecs * workPerSecond))
	if h.frames > rd.limit {
		return nil, newError(format, ReasonTooLong, "header declares %s of audio, limit %g s",
			seconds(h.frames, h.info.SourceRate), rd.maxSecs)
	}
	if w := h.frames * frameWork(h.info.Channels); w > rd.work {
		return nil, newError(format, ReasonTooLarge, "header declares %s of %s Hz %d-channel audio, %s samples to decode; limit %s (the work of %g s of 48 kHz stereo)",
			seconds(h.frames, h.info.SourceRate), commas(int64(h.info.SourceRate)), h.info.Channels, commas(w), commas(rd.work), rd.maxSecs)
	}
	rate := h.info.SourceRate
	if h.rate > 0 {
		rate = h.rate
	}
	rd.decim = int64(h.info.SourceRate / rate)
	if rd.rs, err = NewResampler(rate, SampleRate); err != nil {
		return nil, newError(format, ReasonUnsupported, "%v", err)
	}
	chunk := min(max(4096*rate/SampleRate, 256), 1<<15) // ≈ 4096 outputs per source read
	rd.in = make([]float32, chunk)
	rd.outBuf = make([]float32, 0, chunk*SampleRate/rate+64)
	return rd, nil
}

// maxFrames is the most source frames the limits let through: MaxSeconds and the
// work budget.
func (r *Reader) maxFrames() int64 { return min(r.limit, r.work/frameWork(r.info.Channels)) }

// Info describes the input; Seconds, Peak and RMS cover the samples decoded so far
// and are final once Read has returned io.EOF.
func (r *Reader) Info() Info {
	i := r.info
	i.Seconds = float64(r.frames) / float64(i.SourceRate)
	if r.outN > 0 {
		i.RMS = float32(math.Sqrt(r.sumSq / float64(r.outN)))
	}
	return i
}

// Read fills dst with the next 16 kHz mono samples, in [-1, 1], and returns how many it
// wrote. At the end of the stream it returns 0, io.EOF; on bad data an *Error (after
// the samples decoded before it).
func (r *Reader) Read(dst []float32) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(dst, r.out)
	r.out = r.out[n:]
	return n, nil
}

// fill decodes one chunk of source frames and resamples it into out.
func (r *Reader) fill() {
	if r.srcErr != nil { // the source has ended or failed; no more chunks
		r.err = r.srcErr
		return
	}
	n, err := r.src.read(r.in)
	if err == nil && n == 0 {
		err = newError(r.info.Format, ReasonCorrupt, "decoder made no progress")
	}
	r.frames += int64(n) * r.decim
	if r.frames > r.limit {
		r.err = newError(r.info.Format, ReasonTooLong, "more than %g s of audio", r.maxSecs)
		r.srcErr = r.err
		return
	}
	if r.frames > r.maxFrames() {
		r.err = newError(r.info.Format, ReasonTooLarge, "%s Hz %d-channel audio: more than %s samples to decode (%g s of it), the work of %g s of 48 kHz stereo",
			commas(int64(r.info.SourceRate)), r.info.Channels, commas(r.work), float64(r.maxFrames())/float64(r.info.SourceRate), r.maxSecs)
		r.srcErr = r.err
		return
	}
	out := r.rs.Process(r.outBuf[:0], r.in[:n])
	if err == io.EOF {
		out = r.rs.Flush(out)
		if c, ok := r.src.(interface{ sourceFrames() int64 }); ok && r.decim > 1 {
			// A decimating source's last sample may stand for fewer than decim source
			// frames: end where the source rate's ⌈frames·16000/rate⌉ outputs do.
			r.frames = c.sourceFrames()
			want := (r.frames*SampleRate + int64(r.info.SourceRate) - 1) / int64(r.info.SourceRate)
			out = out[:max(min(int64(len(out)), want-r.outN), 0)]
		}
		if r.frames == 0 {
			err = newError(r.info.Format, ReasonEmpty, "no samples")
		}
	}
	peak, sumSq := r.info.Peak, 0.0 // (locals: the loop runs once per output sample)
	for i, v := range out {
		v = min(max(v, -1), 1)
		out[i] = v
		peak = max(peak, abs32(v))
		sumSq += float64(v) * float64(v)
	}
	r.info.Peak, r.sumSq = peak, r.sumSq+sumSq
	r.outN += int64(len(out))
	r.outBuf = out[:0]
	r.out = out
	if err != nil {
		r.srcErr = err
		if len(out) == 0 {
			r.err = err
		}
	}
}

// bufferedBytes is the memory r holds for samples and frames, in bytes.
func (r *Reader) bufferedBytes() int {
	return 4*(cap(r.in)+cap(r.outBuf)) + r.rs.bufferedBytes() + r.src.bufferedBytes()
}

// sniff finds the format from the first bytes, skipping ID3v2 tags before FLAC or MP3.
func sniff(in *input) (string, error) {
	br := in.Reader
	head, _ := br.Peek(12)
	if len(head) == 0 {
		return "", newError("audio", ReasonEmpty, "no bytes")
	}
	switch {
	case bytes.HasPrefix(head, []byte("RIFF")):
		if len(head) < 12 {
			return "", newError("wav", ReasonTruncated, "file ends after %d bytes, inside the RIFF header", len(head))
		}
		if form := string(head[8:12]); form != "WAVE" {
			return "", newError("audio", ReasonNotAudio, "RIFF form %q is not WAVE", form)
		}
		return "wav", nil
	case bytes.HasPrefix(head, []byte("RF64")) || bytes.HasPrefix(head, []byte("RIFX")):
		return "", newError("wav", ReasonUnsupported, "%s WAV (only little-endian RIFF is supported)", head[:4])
	case bytes.HasPrefix(head, []byte("fLaC")):
		return "flac", nil
	case bytes.HasPrefix(head, []byte("ID3")):
		for range 8 { // a file may carry more than one tag
			if err := skipID3(in); err != nil {
				return "", err
			}
			if head, _ = br.Peek(4); !bytes.HasPrefix(head, []byte("ID3")) {
				break
			}
		}
		if bytes.HasPrefix(head, []byte("fLaC")) {
			return "flac", nil
		}
		if _, ok := parseMP3Header(head); ok {
			return "mp3", nil
		}
		if len(head) == 0 {
			return "", newError("audio", ReasonTruncated, "file ends after its ID3 tag")
		}
		return "", newError("audio", ReasonNotAudio, "ID3 tag followed by % x, not an MPEG frame or fLaC", head)
	case bytes.HasPrefix(head, []byte("OggS")):
		return "", newError("audio", ReasonUnsupported, "Ogg (Vorbis/Opus) audio is not supported")
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return "", newError("audio", ReasonUnsupported, "MP4/M4A audio is not supported")
	case len(head) >= 12 && string(head[:4]) == "FORM" && (string(head[8:12]) == "AIFF" || string(head[8:12]) == "AIFC"):
		return "", newError("audio", ReasonUnsupported, "AIFF audio is not supported")
	}
	if mpegFrames(br) {
		return "mp3", nil
	}
	return "", newError("audio", ReasonNotAudio, "no RIFF/WAVE, fLaC, ID3 or MPEG frame header at the start (% x)", head[:min(len(head), 8)])
}

// mpegFrames reports whether br starts with an MPEG audio frame followed by another
// (or by a tag, or by the end of the file for Layer III): one 4-byte header alone is
// too weak a sign (a UTF-16 text starts with a Layer I one).
func mpegFrames(br *bufio.Reader) bool {
	b, _ := br.Peek(4)
	h, ok := parseMP3Header(b)
	if !ok {
		return false
	}
	if h.bitrate == 0 { // free format: no frame length to check the next header
		return h.layer == 3
	}
	b, _ = br.Peek(h.size() + 4)
	if len(b) <= h.size() { // one Layer III frame, or the file ends inside it
		return h.layer == 3
	}
	next := b[h.size():]
	h2, ok := parseMP3Header(next)
	return ok && h2.sameStream(h) || len(next) < 4 || bytes.HasPrefix(next, []byte("TAG"))
}

// skipID3 passes over the ID3v2 tag at the start of in.
func skipID3(in *input) error {
	h, _ := in.Peek(10)
	if len(h) < 10 {
		return newError("audio", ReasonTruncated, "file ends inside an ID3 tag header (%d bytes)", len(h))
	}
	if h[6]|h[7]|h[8]|h[9] >= 0x80 {
		return newError("audio", ReasonCorrupt, "ID3 tag size % x is not synchsafe", h[6:10])
	}
	size := int64(h[6])<<21 | int64(h[7])<<14 | int64(h[8])<<7 | int64(h[9])
	if h[5]&0x10 != 0 { // footer present
		size += 10
	}
	start := in.offset()
	in.skip(10)
	if left := in.remaining(); left >= 0 && size > left {
		return newError("audio", ReasonTruncated, "ID3 tag declares %s bytes, file holds %s (tag at byte %s)", commas(size+10), commas(left+10), commas(start))
	}
	if n := in.skip(size); n < size {
		return newError("audio", ReasonTruncated, "ID3 tag declares %s bytes, file holds %s (tag at byte %s)", commas(size+10), commas(n+10), commas(start))
	}
	return nil
}

// recovered turns a third-party decoder's panic into a ReasonCorrupt error.
func recovered(format string, p any) error {
	return newError(format, ReasonCorrupt, "decoder failed: %v", p)
}

// seconds formats frames at rate as a duration: "12.5 s".
func seconds(frames int64, rate int) string {
	return fmt.Sprintf("%.1f s", float64(frames)/float64(rate))
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
