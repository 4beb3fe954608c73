// Package asr is dlmstream's speech front end, a plain Go library (no Beam, no Kafka).
//
// # Audio in
//
// Decode turns a WAV, FLAC or MP3 file, recognised from its bytes, into 16 kHz mono
// samples in [-1, 1]. WAV may be 8/16/24/32-bit PCM or 32/64-bit float, plain or
// WAVE_FORMAT_EXTENSIBLE. FLAC may start with an ID3 tag. MP3 is MPEG-1 or MPEG-2
// Layer III; a LAME header's encoder delay and padding are trimmed. The source may
// have any rate from 1 to 384 kHz and 1 to 8 channels. Channels are averaged, then a
// Kaiser-windowed sinc Resampler brings the rate to SampleRate; it is anti-aliased
// when downsampling. NewReader does the same as a stream and holds only a few
// hundred KB, so a long file never sits in memory whole.
//
// Bad input never panics and never makes the decoder allocate a size a header
// declares. Lengths are checked against DecodeOptions.MaxSeconds before any sample is
// decoded, and again while decoding. Failures are *Error values with a stable Reason
// (not-audio, truncated, corrupt, unsupported, too-long, empty) and a message naming
// the problem, e.g. "wav: 24-bit data chunk declares 9,600,000 bytes, file holds 120".
package asr
