package transforms

import (
	"errors"
	"fmt"
)

// Stages named in dead letters.
const (
	StageDecode = "decode"
	StageEngine = "engine"
)

// Reasons are stable, short dead-letter reason codes ([kafka.HeaderErrorReason]).
const (
	ReasonOversize           = "oversize"                 // message larger than Config.MaxMessageBytes
	ReasonContentType        = "unsupported-content-type" // content type this pipeline does not take
	ReasonNotAudio           = "not-audio"                // not a RIFF/WAVE file
	ReasonTruncated          = "truncated"                // data ends before the header says it does
	ReasonUnsupportedFormat  = "unsupported-format"       // sample format or codec not supported
	ReasonTooLong            = "too-long"                 // audio longer than Config.MaxAudioSeconds, or more decoding work than that much 48 kHz stereo
	ReasonNotImage           = "not-image"                // no known image format
	ReasonTooManyPixels      = "too-many-pixels"          // header claims more than Config.MaxPixels
	ReasonCorrupt            = "corrupt"                  // decoder rejected the data
	ReasonInvalidSchema      = "invalid-schema"           // JSON Schema missing or malformed
	ReasonInvalidText        = "invalid-text"             // text is not UTF-8 or empty
	ReasonNoASREncoder       = "no-asr-encoder"           // a text checkpoint got audio without a draft transcript to correct
	ReasonEngineError        = "engine-error"             // the engine returned an error
	ReasonUnknownSchemaID    = "unknown-schema-id"        // schema-id header without a registry
	ReasonInvalidRequestBody = "invalid-request"          // request fields out of range
	ReasonBadSidecar         = "bad-sidecar"              // a file input's sidecar was too large or unreadable
	ReasonCanvasTooLarge     = "canvas-too-large"         // the schema's canvas and prompt do not fit the model's positions or the KV budget
)

// Rejection is why an input cannot be processed: a dead letter's stage, reason and error.
type Rejection struct {
	Stage, Reason string
	Err           error
}

func (r *Rejection) Error() string { return fmt.Sprintf("%s: %s: %v", r.Stage, r.Reason, r.Err) }

func (r *Rejection) Unwrap() error { return r.Err }

func reject(stage, reason string, format string, args ...any) *Rejection {
	return &Rejection{Stage: stage, Reason: reason, Err: fmt.Errorf(format, args...)}
}

// AsRejection returns err's Rejection, or one with stage and ReasonCorrupt.
func AsRejection(err error, stage string) *Rejection {
	var r *Rejection
	if errors.As(err, &r) {
		return r
	}
	return &Rejection{Stage: stage, Reason: ReasonCorrupt, Err: err}
}
