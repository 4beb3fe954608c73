package files

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// MaxSidecarBytes bounds a sidecar file (NAME.schema.json, NAME.draft.txt).
// It is engine/schema's MaxSchemaBytes: a larger schema could not compile.
const MaxSidecarBytes = 1 << 20

// SidecarError is a sidecar that exists but is not used: larger than its
// limit, or failing while it is read. The input it belongs to is still
// emitted, without the sidecar's header and with kafka.HeaderSidecarError
// set to this error's text, so the pipeline dead-letters it (an extraction
// without its schema is invalid-schema) instead of failing the bundle.
type SidecarError struct {
	Path  string
	Size  int64 // bytes; -1 when only "more than Limit" is known
	Limit int64
	Err   error // the read error; nil for a sidecar over Limit
}

func (e *SidecarError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("sidecar %s: %v", e.Path, e.Err)
	case e.Size < 0:
		return fmt.Sprintf("sidecar %s is more than %d bytes, the sidecar limit", e.Path, e.Limit)
	}
	return fmt.Sprintf("sidecar %s is %d bytes, over the %d-byte sidecar limit", e.Path, e.Size, e.Limit)
}

func (e *SidecarError) Unwrap() error { return e.Err }

// readSidecar reads a small companion file through Beam's filesystem layer.
// ok is false when there is none (it cannot be opened); a sidecar over
// limit, checked before reading and again while reading, or one whose read
// fails, is a *SidecarError.
func readSidecar(ctx context.Context, path string, limit int64) (data []byte, ok bool, err error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, false, nil
	}
	defer fs.Close()
	size, err := fs.Size(ctx, path)
	if err != nil {
		return nil, false, nil // no such file (each filesystem says so its own way)
	}
	if size > limit {
		return nil, false, &SidecarError{Path: path, Size: size, Limit: limit}
	}
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, false, nil
	}
	defer r.Close()
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return nil, false, &SidecarError{Path: path, Size: size, Limit: limit, Err: err}
	case int64(len(data)) > limit: // it grew since Size
		return nil, false, &SidecarError{Path: path, Size: -1, Limit: limit}
	}
	return data, true, nil
}
