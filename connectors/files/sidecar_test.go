package files

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
)

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	data := []byte(`{"type":"object","properties":{"title":{"type":"string"}}}`)
	if size > len(data) {
		data = append(data, strings.Repeat(" ", size-len(data))...)
	}
	if err := os.WriteFile(path, data[:size], 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadSidecar: a sidecar up to the limit is read whole, a missing one
// is absent, a larger one is a SidecarError naming the file, its size and
// the limit (it used to be cut at 1 MiB and then reported as not JSON).
func TestReadSidecar(t *testing.T) {
	dir := t.TempDir()
	const limit = 1000
	cases := []struct {
		name    string
		size    int // -1: no file
		wantOK  bool
		wantErr string
	}{
		{"missing", -1, false, ""},
		{"empty", 0, true, ""},
		{"small", 60, true, ""},
		{"at the limit", limit, true, ""},
		{"one byte over", limit + 1, false, fmt.Sprintf("is %d bytes, over the %d-byte sidecar limit", limit+1, limit)},
		{"far over", 50 * limit, false, fmt.Sprintf("is %d bytes, over the %d-byte sidecar limit", 50*limit, limit)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".schema.json")
			if c.size >= 0 {
				writeFile(t, path, c.size)
			}
			data, ok, err := readSidecar(context.Background(), path, limit)
			if c.wantErr == "" {
				if err != nil || ok != c.wantOK || ok && len(data) != c.size {
					t.Fatalf("got %d bytes, ok %v, err %v; want %d bytes, ok %v", len(data), ok, err, c.size, c.wantOK)
				}
				return
			}
			var se *SidecarError
			if !errors.As(err, &se) || ok || data != nil {
				t.Fatalf("got %d bytes, ok %v, err %v; want a SidecarError", len(data), ok, err)
			}
			if se.Path != path || se.Size != int64(c.size) || se.Limit != limit || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q (%+v), want one naming %s and %q", err, se, path, c.wantErr)
			}
		})
	}
}

// TestReadFnSidecars: the file source emits every input; a sidecar over
// MaxSidecarBytes sets no header but kafka.HeaderSidecarError.
func TestReadFnSidecars(t *testing.T) {
	dir := t.TempDir()
	input := func(name string) string {
		p := filepath.Join(dir, name+".txt")
		if err := os.WriteFile(p, []byte("Dune, Frank Herbert, 1965"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name       string
		schemaSize int // -1: no sidecar
		draftSize  int
		schema     bool   // the json-schema header is set
		sidecarErr string // in HeaderSidecarError, "" for none
	}{
		{"no sidecars", -1, -1, false, ""},
		{"schema", 60, -1, true, ""},
		{"schema at the limit", MaxSidecarBytes, -1, true, ""},
		{"schema over the limit", MaxSidecarBytes + 1, -1, false, fmt.Sprintf("over_schema.schema.json is %d bytes, over the %d-byte sidecar limit", MaxSidecarBytes+1, MaxSidecarBytes)},
		{"both over the limit", 2 * MaxSidecarBytes, 3 * MaxSidecarBytes, false, fmt.Sprintf("both.schema.json is %d bytes, over the %d-byte sidecar limit; ", 2*MaxSidecarBytes, MaxSidecarBytes)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := strings.ReplaceAll(c.name, " ", "_")
			if strings.HasPrefix(c.name, "schema over") {
				name = "over_schema"
			} else if strings.HasPrefix(c.name, "both") {
				name = "both"
			}
			path := input(name)
			if c.schemaSize >= 0 {
				writeFile(t, filepath.Join(dir, name+".schema.json"), c.schemaSize)
			}
			if c.draftSize >= 0 {
				writeFile(t, filepath.Join(dir, name+".draft.txt"), c.draftSize)
			}
			var got []kafka.Envelope
			f := fileio.ReadableFile{Metadata: fileio.FileMetadata{Path: path}}
			if err := (&readFn{}).ProcessElement(context.Background(), f, func(e kafka.Envelope) { got = append(got, e) }); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d envelopes, want 1", len(got))
			}
			e := got[0]
			if string(e.Value) != "Dune, Frank Herbert, 1965" || e.Header(kafka.HeaderRequestID) != path {
				t.Fatalf("envelope %q, request id %q", e.Value, e.Header(kafka.HeaderRequestID))
			}
			if (e.Header(kafka.HeaderSchema) != "") != c.schema {
				t.Fatalf("schema header %.80q, want set: %v", e.Header(kafka.HeaderSchema), c.schema)
			}
			if e.Header(kafka.HeaderDraftTranscript) != "" {
				t.Fatalf("draft header set from a sidecar over the limit")
			}
			if got := e.Header(kafka.HeaderSidecarError); c.sidecarErr == "" && got != "" || !strings.Contains(got, c.sidecarErr) {
				t.Fatalf("sidecar error %q, want one containing %q", got, c.sidecarErr)
			}
		})
	}
}
