package asr

import (
	"errors"
	"fmt"
	"strconv"
)

// Reason is a stable, short code for why audio could not be decoded. Pipelines put it
// in dead letters, so the values never change.
type Reason string

// Reasons an *Error carries.
const (
	ReasonEmpty       Reason = "empty"       // no bytes, or a valid header with no samples
	ReasonNotAudio    Reason = "not-audio"   // no known audio signature
	ReasonTruncated   Reason = "truncated"   // the data ends before the header or frame says it does
	ReasonCorrupt     Reason = "corrupt"     // the header or frames are inconsistent, or the decoder failed
	ReasonUnsupported Reason = "unsupported" // a real audio format, codec, rate or layout this package does not take
	ReasonTooLong     Reason = "too-long"    // longer than DecodeOptions.MaxSeconds
	ReasonTooLarge    Reason = "too-large"   // more decoding work than MaxSeconds of 48 kHz stereo (a high rate or many channels)
)

// Error is why audio could not be decoded: a Reason and a message naming what was wrong,
// e.g. "wav: 24-bit data chunk declares 9,600,000 bytes, file holds 120 (chunk header at
// byte 36)".
type Error struct {
	Format string // "wav", "flac", "mp3", or "audio" when the format is not known
	Reason Reason
	Msg    string
	Err    error // underlying decoder error, if any
}

func (e *Error) Error() string {
	s := e.Format + ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns err's Reason, or "" when err is not (or does not wrap) an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func newError(format string, reason Reason, msg string, args ...any) *Error {
	return &Error{Format: format, Reason: reason, Msg: fmt.Sprintf(msg, args...)}
}

// wrapError is newError with an underlying cause.
func wrapError(format string, reason Reason, cause error, msg string, args ...any) *Error {
	e := newError(format, reason, msg, args...)
	e.Err = cause
	return e
}

// commas formats n with thousands separators: 9600000 → "9,600,000".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
