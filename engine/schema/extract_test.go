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

// TestPoliciesCompose runs the slot constraint under every unmasking
// policy on an unshifted (SDAR) and a shifted (Fast-dLLM v2) checkpoint,
// with sampling as well as greedy.
func TestPoliciesCompose(t *testing.T) {
	if raceEnabled {
		t.Skip("slow under the race detector; TestExtractTiny covers the path")
	}
	fast, err := engine.New("../../testdata/models/tiny-fastdllm", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	s, err := Compile([]byte(`{"type":"object","properties":{
		"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{2}$"},
		"n":{"type":"number","minimum":-5,"maximum":5,"multipleOf":0.5},
		"tags":{"type":"array","items":{"type":"string","maxLength":5},"maxItems":2},
		"when":{"type":["string","null"],"format":"date"},
		"kind":{"enum":["a","b"]}},
		"required":["code","n","tags","kind"]}`))
	if err != nil {
		t.Fatal(err)
	}
	policies := []decode.Policy{decode.StaticTopK{Steps: 4}, decode.StaticTopK{Steps: 2}, decode.TopK{K: 2}, decode.Threshold{Tau: 0.5},
		decode.Threshold{Tau: 0.9, Strict: true}, decode.Factor{F: 1}, decode.Dynamic{Tau: 0.9, Steps: 4}, decode.EntropyBounded{Gamma: 0.5},
		decode.TopKMargin{Steps: 4}, decode.DefaultCredit(), decode.SchED{Inner: decode.Threshold{Tau: 0.9}, High: 8, Low: 2},
		decode.Oracle{K: 3}, decode.Sequential{}}
	if testing.Short() {
		policies = policies[:4]
	}
	for name, e := range map[string]*engine.Engine{"tiny-sdar": tinyEngine(t), "tiny-fastdllm": fast} {
		for i, pol := range policies {
			samp := decode.Sampling{}
			if i%2 == 1 {
				samp = decode.Sampling{Temperature: 1, Seed: uint64(i)}
			}
			res, err := Extract(context.Background(), e, "code AB-12, n 2.5", s, Options{Policy: pol, Sampling: samp, Instruction: "JSON:"})
			if err == nil {
				err = s.Validate(res.JSON)
			}
			if err != nil {
				t.Fatalf("%s %T: %v", name, pol, err)
			}
			if res.Rounds != 1 {
				t.Errorf("%s %T: %d rounds", name, pol, res.Rounds)
			}
		}
	}
}
