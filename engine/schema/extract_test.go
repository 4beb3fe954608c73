package schema

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

var (
	tinyOnce sync.Once
	tinyEng  *engine.Engine
	tinyErr  error
)

func tinyEngine(t testing.TB) *engine.Engine {
	t.Helper()
	tinyOnce.Do(func() { tinyEng, tinyErr = engine.New("../../testdata/models/tiny-sdar", engine.Options{}) })
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyEng
}

func TestMain(m *testing.M) {
	code := m.Run()
	if tinyEng != nil {
		tinyEng.Close()
	}
	os.Exit(code)
}

const invoiceSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "number": {"type": "string", "pattern": "^INV-[0-9]{4}$"},
    "date": {"type": "string", "format": "date"},
    "currency": {"enum": ["EUR", "USD", "GBP"]},
    "paid": {"type": "boolean"},
    "total": {"type": "number", "minimum": 0, "maximum": 100000, "multipleOf": 0.01},
    "customer": {"$ref": "#/$defs/party"},
    "lines": {"type": "array", "minItems": 1, "maxItems": 3, "items": {
      "type": "object",
      "properties": {"item": {"type": "string", "maxLength": 40}, "qty": {"type": "integer", "minimum": 1, "maximum": 999}},
      "required": ["item", "qty"], "additionalProperties": false}},
    "note": {"type": ["string", "null"], "maxLength": 30}
  },
  "required": ["number", "date", "currency", "paid", "total", "customer", "lines"],
  "additionalProperties": false,
  "$defs": {"party": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"}}, "required": ["name"], "additionalProperties": false}}
}`

func TestExtractTiny(t *testing.T) {
	e := tinyEngine(t)
	s, err := Compile([]byte(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	policies := []decode.Policy{nil, decode.Threshold{Tau: 0.9}, decode.StaticTopK{Steps: 2}}
	if testing.Short() || raceEnabled {
		policies = policies[1:2]
	}
	for _, pol := range policies {
		res, err := Extract(context.Background(), e, "Invoice INV-0042 from 2024-03-05, 12.50 EUR, paid by Ann <ann@example.com>.", s, Options{Policy: pol})
		if err != nil {
			t.Fatalf("%T: %v", pol, err)
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatalf("%T: %v", pol, err)
		}
		t.Logf("%T: %s (rounds %d, canvas %d, decoded %d, forwards %d)", pol, res.JSON, res.Rounds, res.Canvas, res.Decoded, res.Forwards)
	}
}

// TestExtractConcurrent shares one compiled schema (and its slot automata)
// between goroutines on one engine.
func TestExtractConcurrent(t *testing.T) {
	e := tinyEngine(t)
	s, err := Compile([]byte(`{"type":"object","properties":{"id":{"type":"integer","minimum":1,"maximum":99},"tag":{"type":"string","maxLength":6},"ok":{"type":"boolean"}},"required":["id","tag","ok"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := Extract(context.Background(), e, fmt.Sprintf("item %d", i), s, Options{Policy: decode.Threshold{Tau: 0.9}, Instruction: "JSON:"})
			if err == nil {
				err = s.Validate(res.JSON)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
