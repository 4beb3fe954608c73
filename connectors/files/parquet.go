package files

import (
	"context"
	"encoding/json"
	"fmt"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
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

// WriteParquet writes a PCollection<kafka.Envelope> of results to one Parquet file
// (bounded jobs: all rows pass through one worker).
func WriteParquet(s beam.Scope, path string, col beam.PCollection) {
	s = s.Scope("files.WriteParquet")
	grouped := beam.GroupByKey(s, beam.ParDo(s, keyAll, col))
	beam.ParDo0(s, &writeParquetFn{Path: path}, grouped)
}

type writeParquetFn struct {
	Path string `json:"path"`
}

func (fn *writeParquetFn) ProcessElement(ctx context.Context, _ int, rows func(*kafka.Envelope) bool) error {
	fs, err := filesystem.New(ctx, fn.Path)
	if err != nil {
		return err
	}
	defer fs.Close()
	f, err := fs.OpenWrite(ctx, fn.Path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[Row](f)
	var e kafka.Envelope
	for rows(&e) {
		if _, err := w.Write([]Row{ToRow(e)}); err != nil {
			f.Close()
			return fmt.Errorf("parquet %s: %w", fn.Path, err)
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("parquet %s: %w", fn.Path, err)
	}
	return f.Close()
}
