package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"
)

// Row is one Parquet row: a result with the fields data-lake queries filter on.
type Row struct {
	RequestID   string  `parquet:"request_id"`
	Task        string  `parquet:"task"`
	Text        string  `parquet:"text"`
	Model       string  `parquet:"model"`
	Tokens      int64   `parquet:"tokens"`
	EngineMS    float64 `parquet:"engine_ms"`
	Source      string  `parquet:"source"`
	Key         string  `parquet:"key"`
	Value       string  `parquet:"value"`   // the result's full JSON
	Headers     string  `parquet:"headers"` // JSON object
	TimestampMS int64   `parquet:"timestamp_ms"`
}

// ToRow converts a result envelope for Parquet output.
func ToRow(e kafka.Envelope) Row {
	r := Row{RequestID: e.Header(kafka.HeaderRequestID), Source: e.Header(kafka.HeaderSource), Key: string(e.Key),
		Value: string(e.Value), TimestampMS: e.Timestamp}
	var out struct {
		Task     string  `json:"task"`
		Text     string  `json:"text"`
		Model    string  `json:"model"`
		Tokens   int64   `json:"tokens"`
		EngineMS float64 `json:"engine_ms"`
	}
	if json.Unmarshal(e.Value, &out) == nil {
		r.Task, r.Text, r.Model, r.Tokens, r.EngineMS = out.Task, out.Text, out.Model, out.Tokens, out.EngineMS
	}
	hs := map[string]string{}
	for _, h := range e.Headers {
		hs[h.Key] = string(h.Value)
	}
	b, _ := json.Marshal(hs)
	r.Headers = string(b)
	return r
}

func init() {
	register.Function1x2[kafka.Envelope, int, kafka.Envelope](keyAll)
	register.DoFn3x1[context.Context, int, func(*kafka.Envelope) bool, error](&writeParquetFn{})
	register.Iter1[kafka.Envelope]()
}

func keyAll(e kafka.Envelope) (int, kafka.Envelope) { return 0, e }

// WriteParquet writes a PCollection<kafka.Envelope> of results to Parquet
// (bounded jobs: all rows pass through one worker). Extraction results whose
// JSON Schema (the json-schema header) has an object root go to a table of
// their own, NAME.<schema hash>.parquet, with one typed column per top-level
// property (see tableFor); everything else (and results without an
// extracted "json" record) goes to path with the generic
// Row columns. Files are created only when they get a row; at most
// maxSchemaTables schema tables are open, further schemas use path. Each
// file is written under a temporary name and renamed to its final name
// only when it is complete, footer included (see outputFile).
func WriteParquet(s beam.Scope, path string, col beam.PCollection) {
	s = s.Scope("files.WriteParquet")
	grouped := beam.GroupByKey(s, beam.ParDo(s, keyAll, Records(s, col)))
	beam.ParDo0(s, &writeParquetFn{Path: path}, grouped)
}

const maxSchemaTables = 16

type writeParquetFn struct {
	Path string `json:"path"`
}

// parquetFile is one open output file.
type parquetFile struct {
	out   *outputFile
	write func(any) error
	close func() error // the writer's: flushes the last row group, writes the footer
}

func (fn *writeParquetFn) open(ctx context.Context, path string, sch *parquet.Schema) (*parquetFile, error) {
	out, err := createOutput(ctx, path)
	if err != nil {
		return nil, err
	}
	pf := &parquetFile{out: out}
	if sch == nil {
		w := parquet.NewGenericWriter[Row](out)
		pf.write = func(r any) error { _, err := w.Write([]Row{r.(Row)}); return pf.fail(err) }
		pf.close = w.Close
	} else {
		w := parquet.NewWriter(out, sch)
		pf.write = func(r any) error { return pf.fail(w.Write(r)) }
		pf.close = w.Close
	}
	return pf, nil
}

// fail names the file in a Parquet writer's error; an error of the file
// itself ("files: write PATH: no space left on device") already does.
func (f *parquetFile) fail(err error) error {
	switch {
	case err == nil:
		return nil
	case f.out.err != nil:
		return f.out.err
	}
	return fmt.Errorf("parquet %s: %w", f.out.path, err)
}

// finish writes the footer and renames the file to its final name: a
// Parquet file is only ever at its final name whole, footer included.
func (f *parquetFile) finish() error {
	if err := f.close(); err != nil {
		return errors.Join(f.fail(err), f.out.Abort())
	}
	return f.out.Commit()
}

func (fn *writeParquetFn) ProcessElement(ctx context.Context, _ int, rows func(*kafka.Envelope) bool) (err error) {
	var generic *parquetFile
	tables := map[string]*table{}      // schema document -> layout (nil: not tabular)
	files := map[string]*parquetFile{} // schema document -> open file
	defer func() {
		// All or nothing per file: on an error every temporary file is
		// removed; otherwise each is finished, the others still
		// committed if one fails.
		all := slices.SortedFunc(maps.Values(files), func(a, b *parquetFile) int { return strings.Compare(a.out.path, b.out.path) })
		if generic != nil {
			all = append(all, generic)
		}
		failed := err != nil
		for _, f := range all {
			if failed {
				err = errors.Join(err, f.out.Abort())
			} else {
				err = errors.Join(err, f.finish())
			}
		}
	}()
	var e kafka.Envelope
	for rows(&e) {
		doc := e.Header(kafka.HeaderSchema)
		if !hasRecord(e) {
			doc = "" // not an extracted record: generic columns
		}
		t, seen := tables[doc]
		if doc != "" && !seen && len(files) < maxSchemaTables {
			t, _ = tableFor(doc)
			tables[doc] = t
		}
		if t != nil {
			f := files[doc]
			if f == nil {
				if f, err = fn.open(ctx, schemaPath(fn.Path, doc), t.schema); err != nil {
					return err
				}
				files[doc] = f
			}
			if err := f.write(t.row(e)); err != nil {
				return err
			}
			continue
		}
		if generic == nil {
			if generic, err = fn.open(ctx, fn.Path, nil); err != nil {
				return err
			}
		}
		if err := generic.write(ToRow(e)); err != nil {
			return err
		}
	}
	return nil
}
