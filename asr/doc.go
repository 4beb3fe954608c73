// Package asr is dlmstream's speech front end, a plain Go library (no Beam, no Kafka).
//
// # Audio in
//
// Decode turns a WAV, FLAC or MP3 file, recognised from its bytes, into 16 kHz mono
// samples in [-1, 1]. WAV may be 8/16/24/32-bit PCM or 32/64-bit float, plain or
// WAVE_FORMAT_EXTENSIBLE. FLAC may start with an ID3 tag. MP3 is MPEG-1, 2 or 2.5
// Layer III; a LAME header's encoder delay and padding are trimmed. The source may
// have any rate from 1 to 384 kHz and 1 to 8 channels (a WAV up to 64). Channels are
// averaged, then a Kaiser-windowed sinc Resampler brings the rate to SampleRate; it
// is anti-aliased when downsampling. NewReader does the same as a stream and holds only a few
// hundred KB, so a long file never sits in memory whole.
//
// Bad input never panics and never makes the decoder allocate a size a header
// declares: every declared size is checked against what the input holds (when it is
// an io.Seeker) before it is skipped or read, and WAV chunks, FLAC metadata blocks and
// ID3 tags are walked by this package, passed over by seeking, never read whole (see
// riff.go). Lengths are checked against DecodeOptions.MaxSeconds before any sample is
// decoded, and again while decoding, and so is the decoding work: MaxSeconds buys
// that many seconds of 48 kHz stereo (source frames × max(channels, 2); see
// workPerSecond), so a small file that expands to hours of 384 kHz 8-channel audio
// (FLAC's constant subframes) is stopped within one frame of that budget. FLAC frames
// are decoded by this package (flacframe.go) into buffers it reuses; decoding never
// holds the whole source-rate signal. So are MP3 frames (mp3decode.go), computing only
// what the 16 kHz mono output needs: the subbands below 8 kHz, the mid channel of M/S
// stereo, every second sample at 44.1 and 48 kHz (ten minutes of 48 kHz stereo take
// about a second on two cores). Failures are *Error values with a stable Reason
// (not-audio, truncated, corrupt, unsupported, too-long, too-large, empty) and a
// message naming the problem, e.g. "wav: fmt chunk declares 65535 channels, at most 64".
package asr
