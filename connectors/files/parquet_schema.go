package files

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"dlmstream/connectors/kafka"
	"dlmstream/engine/schema"

	"github.com/parquet-go/parquet-go"
)

// colKind is how one top-level property of an extraction schema is stored.
type colKind uint8

const (
	colString colKind = iota
	colInt
	colDouble
	colBool
	colJSON // objects, arrays, mixed enums: the value's JSON
)

// table is the Parquet layout of the extraction results of one JSON Schema:
// metadata columns (prefixed "_", so they never clash with property names)
// and one optional column per top-level property of the schema.
type table struct {
	schema *parquet.Schema
	props  []string
	kinds  map[string]colKind
}

// metaColumns are written for every row of a schema table.
var metaColumns = parquet.Group{
	"_request_id":   parquet.String(),
	"_source":       parquet.String(),
	"_model":        parquet.String(),
	"_engine_ms":    parquet.Leaf(parquet.DoubleType),
	"_timestamp_ms": parquet.Int(64),
	"_json":         parquet.JSON(), // the whole record
}

// tableFor derives the columns from a JSON Schema whose root is an object:
// strings and string enums UTF8, integers INT64, numbers DOUBLE, booleans
// BOOLEAN, anything else JSON. ok is false for other schemas.
func tableFor(doc string) (t *table, ok bool) {
	s, err := schema.Compile([]byte(doc))
	if err != nil || s.Root == nil || s.Root.Kind != schema.Object {
		return nil, false
	}
	g := parquet.Group{}
	for k, v := range metaColumns {
		g[k] = v
	}
	t = &table{kinds: map[string]colKind{}}
	for _, p := range s.Root.Props {
		k := kindOf(p.Node)
		t.props = append(t.props, p.Name)
		t.kinds[p.Name] = k
		g[p.Name] = parquet.Optional([...]parquet.Node{
			colString: parquet.String(), colInt: parquet.Int(64), colDouble: parquet.Leaf(parquet.DoubleType),
			colBool: parquet.Leaf(parquet.BooleanType), colJSON: parquet.JSON(),
		}[k])
	}
	t.schema = parquet.NewSchema("extraction", g)
	return t, true
}

func kindOf(n *schema.Node) colKind {
	switch n.Kind {
	case schema.String:
		return colString
	case schema.Number:
		if n.Integer {
			return colInt
		}
		return colDouble
	case schema.Choice:
		kind := colKind(255)
		for _, a := range n.Alts {
			var k colKind
			switch {
			case a == "null":
				continue
			case strings.HasPrefix(a, `"`):
				k = colString
			case a == "true" || a == "false":
				k = colBool
			default:
				return colJSON
			}
			if kind != 255 && kind != k {
				return colJSON
			}
			kind = k
		}
		if kind == 255 {
			return colJSON
		}
		return kind
	}
	return colJSON
}

// row turns one extraction result into a row of t. Values that do not fit
// their column (a result produced under another schema) become null.
func (t *table) row(e kafka.Envelope) map[string]any {
	var out struct {
		Model    string          `json:"model"`
		EngineMS float64         `json:"engine_ms"`
		JSON     json.RawMessage `json:"json"`
	}
	_ = json.Unmarshal(e.Value, &out)
	r := map[string]any{
		"_request_id": e.Header(kafka.HeaderRequestID), "_source": e.Header(kafka.HeaderSource), "_model": out.Model,
		"_engine_ms": out.EngineMS, "_timestamp_ms": e.Timestamp, "_json": string(out.JSON),
	}
	var rec map[string]json.RawMessage
	_ = json.Unmarshal(out.JSON, &rec)
	for _, name := range t.props {
		r[name] = nil
		raw, ok := rec[name]
		if !ok || string(raw) == "null" {
			continue
		}
		var v any
		switch t.kinds[name] {
		case colString:
			var s string
			if json.Unmarshal(raw, &s) == nil {
				v = s
			}
		case colInt:
			var i int64
			if json.Unmarshal(raw, &i) == nil {
				v = i
			}
		case colDouble:
			var f float64
			if json.Unmarshal(raw, &f) == nil {
				v = f
			}
		case colBool:
			var b bool
			if json.Unmarshal(raw, &b) == nil {
				v = b
			}
		default:
			v = string(raw)
		}
		r[name] = v
	}
	return r
}

// schemaPath is where the rows of one schema go: NAME.<schema hash>.parquet
// beside NAME.parquet.
func schemaPath(path, doc string) string {
	h := sha256.Sum256([]byte(doc))
	return fmt.Sprintf("%s.%s.parquet", strings.TrimSuffix(path, ".parquet"), hex.EncodeToString(h[:4]))
}

// hasRecord reports whether a result carries an extracted JSON object.
func hasRecord(e kafka.Envelope) bool {
	var out struct {
		JSON json.RawMessage `json:"json"`
	}
	return json.Unmarshal(e.Value, &out) == nil && len(out.JSON) > 0 && out.JSON[0] == '{'
}
