// Package files reads pipeline inputs from file globs and writes results as JSON Lines
// (and Parquet, see parquet.go) for data lakes. Inputs read from files have no Kafka
// origin, so nothing is committed for them.
package files

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, fileio.ReadableFile, func(kafka.Envelope), error](&readFn{})
	register.Function1x2[kafka.Envelope, string, error](ToJSONLine)
	register.Function2x0[kafka.Envelope, func(kafka.Envelope)](dropCommitOnly)
	register.Emitter1[kafka.Envelope]()
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&writeJSONLFn{})
	register.Iter1[string]()
}

// contentTypes maps file extensions to the content types the transforms accept.
var contentTypes = map[string]string{
	".wav": "audio/wav", ".wave": "audio/wav",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
	".txt": "text/plain", ".md": "text/markdown", ".json": "application/json",
}

// ContentType returns the content type for a file name ("" if unknown).
func ContentType(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	return strings.SplitN(mime.TypeByExtension(ext), ";", 2)[0]
}

// Read reads every file matching glob as one envelope: key and request id are the path,
// the value is the file's bytes, the content type comes from the extension. A sidecar
// file NAME.schema.json sets the json-schema header of NAME (for extraction), and
// NAME.draft.txt the draft-transcript header (for transcription); sidecars are not inputs.
// A sidecar over MaxSidecarBytes (or failing to read) sets no header but
// kafka.HeaderSidecarError, naming the file, its size and the limit: the
// input is still emitted, and dead-lettered downstream (see SidecarError).
func Read(s beam.Scope, glob string) beam.PCollection {
	s = s.Scope("files.Read")
	matches := fileio.MatchFiles(s, glob)
	return beam.ParDo(s, &readFn{}, fileio.ReadMatches(s, matches))
}

type readFn struct{}

func (fn *readFn) ProcessElement(ctx context.Context, f fileio.ReadableFile, emit func(kafka.Envelope)) error {
	path := f.Metadata.Path
	if strings.HasSuffix(path, ".schema.json") || strings.HasSuffix(path, ".draft.txt") {
		return nil
	}
	data, err := f.Read(ctx)
	if err != nil {
		return err
	}
	e := kafka.Envelope{Key: []byte(path), Value: data, Timestamp: f.Metadata.LastModified.UnixMilli()}
	e = e.WithHeader(kafka.HeaderRequestID, path)
	if ct := ContentType(path); ct != "" {
		e = e.WithHeader(kafka.HeaderContentType, ct)
	}
	base := strings.TrimSuffix(path, filepath.Ext(path))
	var problems []string
	for _, sc := range sidecars {
		side, ok, err := readSidecar(ctx, base+sc.suffix, MaxSidecarBytes)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case ok:
			e = e.WithHeader(sc.header, strings.TrimSpace(string(side)))
		}
	}
	if len(problems) > 0 {
		e = e.WithHeader(kafka.HeaderSidecarError, strings.Join(problems, "; "))
	}
	emit(e)
	return nil
}

// sidecars are the companion files of an input NAME.EXT and the headers
// they set.
var sidecars = []struct{ suffix, header string }{
	{".schema.json", kafka.HeaderSchema},
	{".draft.txt", kafka.HeaderDraftTranscript},
}

// Record is one JSON line: a result or dead letter with its headers.
type Record struct {
	Topic     string            `json:"topic,omitempty"`
	Key       string            `json:"key,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Value     json.RawMessage   `json:"value,omitempty"`        // when the value is JSON
	Text      string            `json:"text,omitempty"`         // when it is other UTF-8 text
	Base64    string            `json:"value_base64,omitempty"` // otherwise
	Timestamp int64             `json:"timestamp_ms,omitempty"`
}

// ToRecord converts an envelope for file output.
func ToRecord(e kafka.Envelope) Record {
	r := Record{Topic: e.Topic, Key: string(e.Key), Timestamp: e.Timestamp, Headers: map[string]string{}}
	for _, h := range e.Headers {
		r.Headers[h.Key] = string(h.Value)
	}
	switch {
	case json.Valid(e.Value):
		r.Value = json.RawMessage(e.Value)
	case utf8.Valid(e.Value):
		r.Text = string(e.Value)
	default:
		r.Base64 = base64.StdEncoding.EncodeToString(e.Value)
	}
	return r
}

// ToJSONLine renders an envelope as one JSON line.
func ToJSONLine(e kafka.Envelope) (string, error) {
	b, err := json.Marshal(ToRecord(e))
	return string(b), err
}

// WriteJSONL writes a PCollection<kafka.Envelope> to one JSON Lines file
// (bounded jobs: all lines pass through one worker, as with Beam's
// textio.Write). The file is written under a temporary name in path's
// folder and renamed to path only when every line is written and synced
// (see outputFile): if the folder is unwritable or the disk fills, the
// job fails with an error naming path and the cause, and nothing is at
// path. No file is written when col is empty.
func WriteJSONL(s beam.Scope, path string, col beam.PCollection) {
	s = s.Scope("files.WriteJSONL")
	filesystem.ValidateScheme(path)
	lines := beam.ParDo(s, ToJSONLine, Records(s, col))
	beam.ParDo0(s, &writeJSONLFn{Path: path}, beam.GroupByKey(s, beam.AddFixedKey(s, lines)))
}

type writeJSONLFn struct {
	Path string `json:"path"`
}

func (fn *writeJSONLFn) ProcessElement(ctx context.Context, _ int, lines func(*string) bool) error {
	out, err := createOutput(ctx, fn.Path)
	if err != nil {
		return err
	}
	buf := bufio.NewWriterSize(out, 1<<20)
	var line string
	for lines(&line) {
		if _, err := buf.WriteString(line); err != nil {
			return errors.Join(err, out.Abort())
		}
		if err := buf.WriteByte('\n'); err != nil {
			return errors.Join(err, out.Abort())
		}
	}
	if err := buf.Flush(); err != nil {
		return errors.Join(err, out.Abort())
	}
	return out.Commit()
}

// Records drops the commit-only acknowledgements (kafka.Envelope.CommitOnly)
// from col: a file sink writes records and commits nothing.
func Records(s beam.Scope, col beam.PCollection) beam.PCollection {
	return beam.ParDo(s, dropCommitOnly, col)
}

func dropCommitOnly(e kafka.Envelope, emit func(kafka.Envelope)) {
	if !e.CommitOnly {
		emit(e)
	}
}
