package schema

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// nested writes n levels of open around leaf, closed by n closes.
func nested(n int, open, leaf, close string) []byte {
	return []byte(strings.Repeat(open, n) + leaf + strings.Repeat(close, n))
}

// refChain is a schema whose $defs d0..d(n-1) each refer to the next one
// fan times (through properties p0, p1...); d(n) is a string.
func refChain(n, fan int) []byte {
	var b strings.Builder
	b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
	for i := range n {
		fmt.Fprintf(&b, `"d%d":{"type":"object","properties":{`, i)
		for j := range fan {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"p%d":{"$ref":"#/$defs/d%d"}`, j, i+1)
		}
		b.WriteString(`}},`)
	}
	fmt.Fprintf(&b, `"d%d":{"type":"string"}}}`, n)
	return []byte(b.String())
}

// enumOf is a string enum of n distinct values.
func enumOf(n int) []byte {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf(`"v%d"`, i)
	}
	return []byte(`{"enum":[` + strings.Join(vals, ",") + `]}`)
}

// compileCost compiles src and returns the error, the bytes allocated and
// the time taken.
func compileCost(src []byte) (error, uint64, time.Duration) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	_, err := Compile(src)
	d := time.Since(start)
	runtime.ReadMemStats(&m1)
	return err, m1.TotalAlloc - m0.TotalAlloc, d
}

// TestCompileLimits: each limit rejects a hostile schema with a
// CompileError naming the keyword and the pointer where the limit was hit,
// having allocated a few MiB at most. (Before the limits, properties
// nested 1000 deep took 16 s and 9 GB, 3000 deep 3 min and 238 GB.)
func TestCompileLimits(t *testing.T) {
	deepProps := strings.Repeat("/properties/a", MaxDepth/2)
	cases := []struct {
		name, keyword, pointer string
		src                    []byte
	}{
		{"properties nested 1000 deep", "depth", deepProps, nested(1000, `{"type":"object","properties":{"a":`, `{"type":"string"}`, `}}`)},
		{"properties nested 4999 deep", "depth", deepProps, nested(4999, `{"type":"object","properties":{"a":`, `{"type":"string"}`, `}}`)},
		{"items nested 9000 deep", "depth", strings.Repeat("/items", MaxDepth), nested(9000, `{"type":"array","items":`, `{"type":"string"}`, `}`)},
		{"arrays nested in an annotation", "depth", "/default" + strings.Repeat("/0", MaxDepth-1), []byte(`{"type":"string","default":` + string(nested(5000, "[", "1", "]")) + `}`)},
		{"over MaxSchemaBytes", "size", "", []byte(`{"type":"string","description":"` + strings.Repeat("x", MaxSchemaBytes) + `"}`)},
		{"over MaxSchemaValues", "size", fmt.Sprintf("/examples/%d", MaxSchemaValues-3), []byte(`{"type":"string","examples":[0` + strings.Repeat(",0", MaxSchemaValues) + `]}`)},
		{"$ref doubling 20 times", "subschemas", "/$defs/d17/properties/p1", refChain(20, 2)},
		{"$ref chain deeper than MaxDepth", "depth", fmt.Sprintf("/$defs/d%d/properties/p0", MaxDepth/2-1), refChain(40, 1)},
		{"number over MaxNumberDigits", "number", "/enum/1", []byte(`{"enum":[1,1e999999]}`)},
		{"long number over MaxNumberDigits", "number", "/maximum", []byte(`{"type":"integer","maximum":` + strings.Repeat("9", 200000) + `}`)},
		{"enum over MaxEnumValues", "enum", "/enum", enumOf(MaxEnumValues + 1)},
		{"required items expanding past MaxScaffoldValues", "scaffold", strings.Repeat("/items", 8), nested(8, `{"type":"array","minItems":3,"items":`, `{"type":"string"}`, `}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err, alloc, d := compileCost(c.src)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a CompileError", err)
			}
			if ce.Keyword != c.keyword || c.pointer != "" && ce.Pointer != c.pointer {
				t.Fatalf("%.200v: keyword %q pointer %q, want %q %q", err, ce.Keyword, ce.Pointer, c.keyword, c.pointer)
			}
			if alloc > 32<<20 {
				t.Errorf("allocated %.1f MiB (%v) to reject a %d-byte schema", float64(alloc)/(1<<20), d, len(c.src))
			}
			t.Logf("%d bytes rejected in %v, %.2f MiB allocated: %.160v", len(c.src), d, float64(alloc)/(1<<20), err)
		})
	}
}

// TestCompileWithinLimits: schemas just inside each limit compile.
func TestCompileWithinLimits(t *testing.T) {
	cases := []struct {
		name string
		src  []byte
	}{
		{"properties nested to MaxDepth", nested(MaxDepth/2-1, `{"type":"object","properties":{"a":`, `{"type":"string"}`, `}}`)},
		{"$ref doubling 10 times", refChain(10, 2)},
		{"enum of MaxEnumValues", enumOf(MaxEnumValues)},
		{"float64's largest", []byte(`{"type":"number","maximum":1.7976931348623157e308,"minimum":-1e-30}`)},
		{"arrays nested 7 deep", nested(7, `{"type":"array","items":`, `{"type":"string"}`, `}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Compile(c.src); err != nil {
				t.Fatalf("%.300v", err)
			}
		})
	}
}

// TestScaffoldLimits: a schema that compiles for the default Options would
// expand past the limits with more array items; the scaffold leaves out the
// optional items that do not fit instead (never fewer than minItems).
func TestScaffoldLimits(t *testing.T) {
	tok, v := tinyVocab(t)
	long := `{"type":"array","items":{"enum":["` + strings.Repeat("word ", 3000) + `"]},"minItems":1}`
	cases := []struct {
		name, src string
		items     int
	}{
		{"values", string(nested(7, `{"type":"array","items":`, `{"type":"string"}`, `}`)), 4},
		{"canvas", long, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.src))
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := scaffoldValues(s.Root, c.items, 1<<30); n <= MaxScaffoldValues && c.name == "values" {
				t.Fatalf("%d values with every item: not past the limit", n)
			}
			sc, err := newScaffold(s, tok, v, Options{ArrayItems: c.items}.withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			if sc.b.values > MaxScaffoldValues || sc.b.tokens > MaxCanvasTokens || len(sc.root.items) < 1 {
				t.Fatalf("%d values, %d canvas tokens, %d items", sc.b.values, sc.b.tokens, len(sc.root.items))
			}
			t.Logf("%d values, %d canvas tokens, %d top-level items of %d", sc.b.values, sc.b.tokens, len(sc.root.items), c.items)
		})
	}
}

// TestOptionalPartsWithinLimit: a schema whose optional properties expand
// past MaxScaffoldValues (a Kubernetes-style object) compiles; its scaffold
// holds every required value and as many optional ones as fit, and an
// extraction validates. One whose required values alone exceed the limit
// is refused at the pointer that overflowed.
func TestOptionalPartsWithinLimit(t *testing.T) {
	fields := func(n int) string {
		var f []string
		for j := range n {
			f = append(f, fmt.Sprintf(`"f%d":{"type":"string","maxLength":4}`, j))
		}
		return strings.Join(f, ",")
	}
	var props []string
	for i := range 100 { // optional arrays of 3 objects of 20 fields: 64 values each
		props = append(props, fmt.Sprintf(`"p%03d":{"type":"array","items":{"type":"object","properties":{%s}}}`, i, fields(20)))
	}
	doc := `{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":9},` + strings.Join(props, ",") +
		`,"last":{"type":"boolean"}},"required":["id","last"]}`
	s, err := Compile([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := scaffoldValues(s.Root, 3, 1<<30); n <= MaxScaffoldValues {
		t.Fatalf("the schema lays out %d values with every optional part: not past the limit", n)
	}
	e := tinyEngine(t)
	a := e.Arch()
	v, err := vocabOf(e.Tok, a.MaskID, a.Vocab, "<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newScaffold(s, e.Tok, v, Options{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	laid := len(sc.root.props)
	if sc.b.values > MaxScaffoldValues || laid < 3 || laid >= 102 {
		t.Fatalf("%d values, %d of 102 properties laid out", sc.b.values, laid)
	}
	if sc.root.props[0].name != "id" || sc.root.props[laid-1].name != "last" {
		t.Errorf("required properties not laid out: first %q, last %q", sc.root.props[0].name, sc.root.props[laid-1].name)
	}
	t.Logf("%d values, %d of 102 properties laid out", sc.b.values, laid)

	// Required values alone: 64 x (1 + 2 x 41) = 5,312.
	var req []string
	for j := range 40 {
		req = append(req, fmt.Sprintf(`"f%d"`, j))
	}
	over := `{"type":"array","minItems":64,"items":{"type":"array","minItems":2,"items":{"type":"object","properties":{` +
		fields(40) + `},"required":[` + strings.Join(req, ",") + `]}}}`
	var ce *CompileError
	if _, err := Compile([]byte(over)); !errors.As(err, &ce) || ce.Keyword != "scaffold" {
		t.Fatalf("err = %v, want a scaffold CompileError", err)
	}
}
