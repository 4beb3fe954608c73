package schema

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FuzzCompile compiles arbitrary bytes as a schema. Seeds (testdata/fuzz/
// FuzzCompile) hold deep nesting, duplicate keys, $ref cycles and fan-outs,
// huge enums and numbers, bad patterns and corpus schemas. Invariants: a
// refused schema gets a CompileError naming a keyword (or the empty one); an accepted one was
// read by the scaffold exactly as the validator reads it (encoding/json),
// its scaffold for the default Options builds or is refused with a
// CompileError, and filling that scaffold with random tokens under its
// constraint gives JSON the validator accepts, in one round.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
		`{"type":"array","items":{"enum":["x",1,null]},"maxItems":2}`,
		`{"type":"integer","minimum":-5,"exclusiveMaximum":100,"multipleOf":5}`,
	} {
		f.Add([]byte(s))
	}
	tok, v := tinyVocab(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Compile(src)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Msg == "" || ce.Keyword == "" && !strings.Contains(ce.Msg, "empty string") {
				t.Fatalf("unclear error %v", err)
			}
			return
		}
		root, err := parseJSON(src)
		if err != nil {
			t.Fatalf("compiled, but does not parse: %v", err)
		}
		want, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
		if err != nil {
			t.Fatalf("compiled, but encoding/json refuses it: %v", err)
		}
		if !reflect.DeepEqual(root.doc(), want) {
			t.Fatalf("the scaffold read %v, encoding/json %v", root.doc(), want)
		}
		sc, err := newScaffold(s, tok, v, Options{}.withDefaults())
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("scaffold: unclear error %v", err)
			}
			return
		}
		if len(sc.Template) > MaxCanvasTokens {
			t.Fatalf("canvas of %d tokens, over MaxCanvasTokens", len(sc.Template))
		}
		h := fnv.New64a()
		h.Write(src)
		r := rand.New(rand.NewPCG(h.Sum64(), 7))
		randomPicks(r, sc)
		res, err := sc.decode(context.Background(), s, &Result{}, fakeDecode(r, v), nil)
		if err != nil {
			t.Fatalf("%v\nscaffold %s", err, sc.Render())
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatalf("output %s: %v", res.JSON, err)
		}
		if res.Rounds != 1 {
			t.Errorf("%d rounds for %s: constrained decoding should not need repair", res.Rounds, res.JSON)
		}
	})
}
