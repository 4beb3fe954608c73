package vision

import (
	"errors"
	"fmt"
)

// Reason says why an image was rejected. The values are stable, short codes
// (callers map them onto dead-letter reasons).
type Reason string

const (
	ReasonNotImage    Reason = "not-image"   // no known image format
	ReasonTruncated   Reason = "truncated"   // the data ends before the image does
	ReasonCorrupt     Reason = "corrupt"     // a decoder rejected the data
	ReasonUnsupported Reason = "unsupported" // a known format with a feature or shape not handled
	ReasonTooLarge    Reason = "too-large"   // the header claims more pixels than allowed
	ReasonEmpty       Reason = "empty"       // no bytes, or a header claiming no pixels
)

// Error is a rejected image: a Reason and what was wrong.
type Error struct {
	Reason Reason
	Err    error // what was wrong, e.g. "png header claims 100000x100000 = 10000000000 pixels, limit 50000000"
}

func (e *Error) Error() string { return fmt.Sprintf("vision: %s: %v", e.Reason, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns err's Reason, or "" when err is not (and does not wrap) an *Error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
