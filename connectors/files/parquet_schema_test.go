package files

import (
	"bytes"
	"strings"
	"testing"

	"dlmstream/connectors/kafka"

	"github.com/parquet-go/parquet-go"
)

func TestSchemaTable(t *testing.T) {
	const doc = `{"type":"object","properties":{
		"title":{"type":"string"},"year":{"type":["integer","null"]},"price":{"type":"number"},
		"in_print":{"type":"boolean"},"genre":{"enum":["sf","crime"]},"tags":{"type":"array","items":{"type":"string"}},
		"mixed":{"enum":["a",1]},"author":{"type":"object","properties":{"name":{"type":"string"}}}}}`
	tb, ok := tableFor(doc)
	if !ok {
		t.Fatal("object schema not tabular")
	}
	want := map[string]colKind{"title": colString, "year": colInt, "price": colDouble, "in_print": colBool,
		"genre": colString, "tags": colJSON, "mixed": colJSON, "author": colJSON}
	for name, k := range want {
		if tb.kinds[name] != k {
			t.Errorf("column %s: kind %d, want %d", name, tb.kinds[name], k)
		}
	}
	e := kafka.Envelope{Value: []byte(`{"model":"m","engine_ms":2.5,"json":{"title":"Dune","year":null,"price":9.5,"in_print":true,"genre":"sf","tags":["a"],"author":{"name":"F"},"price_extra":1}}`), Timestamp: 42}.
		WithHeader(kafka.HeaderRequestID, "r1").WithHeader(kafka.HeaderSchema, doc)
	if !hasRecord(e) {
		t.Fatal("record not detected")
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, tb.schema)
	if err := w.Write(tb.row(e)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := map[string]any{}
	if err := parquet.NewReader(bytes.NewReader(buf.Bytes())).Read(&r); err != nil {
		t.Fatal(err)
	}
	if r["title"] != "Dune" || r["year"] != nil || r["price"] != 9.5 || r["in_print"] != true || r["genre"] != "sf" ||
		r["_request_id"] != "r1" || r["_model"] != "m" || r["_timestamp_ms"] != int64(42) {
		t.Fatalf("row = %v", r)
	}
	if s := tb.schema.String(); !strings.Contains(s, "optional int64 year") || !strings.Contains(s, "optional binary title (STRING)") {
		t.Errorf("schema:\n%s", s)
	}
	if _, ok := tableFor(`{"type":"array","items":{"type":"string"}}`); ok {
		t.Error("array-root schema treated as a table")
	}
	if hasRecord(kafka.Envelope{Value: []byte(`{"text":"echo"}`)}) {
		t.Error("result without a record detected as one")
	}
	if a, b := schemaPath("out.parquet", doc), schemaPath("out.parquet", doc+" "); a == b || !strings.HasPrefix(a, "out.") {
		t.Errorf("schema paths %s %s", a, b)
	}
}
