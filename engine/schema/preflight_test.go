package schema

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"dlmstream/engine"
)

// manyNotes is an object with a small id and an array of n strings: the
// array is the canvas's largest part.
func manyNotes(n int) string {
	return fmt.Sprintf(`{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":99},
	  "notes":{"type":"array","minItems":%d,"maxItems":%d,"items":{"type":"string","maxLength":20}}},
	  "required":["id","notes"]}`, n, n)
}

// TestPreflight: an extraction whose canvas cannot fit the model's
// positions or the engine's KV budget is refused with a *CanvasError
// naming the largest part, before any forward (the engine's forward count
// does not move); one that fits decodes as before.
func TestPreflight(t *testing.T) {
	demo, err := engine.New("../../testdata/models/demo-text", engine.Options{}) // 512 positions
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	small, err := engine.New("../../testdata/models/tiny-sdar", engine.Options{KVBudget: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	unionBig := `{"type":"object","properties":{"v":{"anyOf":[{"type":"boolean"},
	  {"type":"array","minItems":40,"maxItems":40,"items":{"type":"string","maxLength":12}}]}},"required":["v"]}`
	cases := []struct {
		name    string
		e       *engine.Engine
		schema  string
		limit   string // "" fits
		largest string
	}{
		{"past the model's positions", demo, manyNotes(60), "context", "/properties/notes"},
		{"fits the model's positions", demo, manyNotes(4), "", ""},
		{"past the KV budget", small, manyNotes(60), "kv budget", "/properties/notes"},
		// The union's branch is not chosen before the check: its largest
		// branch counts, so no scoring forward runs either.
		{"a union's largest branch past the KV budget", small, unionBig, "kv budget", "/properties/v"},
		{"fits the KV budget", small, manyNotes(2), "", ""},
		// The instruction quotes the schema: a long description alone
		// fills demo-text's positions, refused before the scaffold is built.
		{"the prompt alone past the model's positions", demo, `{"type":"object","description":"` + strings.Repeat("a note ", 600) + `","properties":{"id":{"type":"integer"}}}`, "context", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if err != nil {
				t.Fatal(err)
			}
			plan, perr := Preflight(c.e, "Ticket 7: three notes.", s, Options{})
			before := c.e.Stats().Forwards
			start := time.Now()
			res, err := Extract(context.Background(), c.e, "Ticket 7: three notes.", s, Options{})
			took := time.Since(start)
			if c.limit == "" {
				if err != nil || perr != nil {
					t.Fatalf("refused: %v / %v", err, perr)
				}
				if plan.Bound < plan.Canvas || plan.Canvas != res.Canvas || plan.Forwards < 1 || plan.KVBytes <= 0 {
					t.Errorf("plan %+v, result canvas %d", plan, res.Canvas)
				}
				return
			}
			var ce *CanvasError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *CanvasError", err)
			}
			if !errors.As(perr, new(*CanvasError)) {
				t.Errorf("Preflight: %v, want the same refusal", perr)
			}
			if got := c.e.Stats().Forwards - before; got != 0 {
				t.Errorf("%d forwards ran before the refusal", got)
			}
			if c.largest == "" && (ce.Bound != 0 || !strings.Contains(err.Error(), "the prompt alone")) {
				t.Errorf("%v: want the prompt alone refused, before the canvas is measured", err)
			}
			if ce.Limit != c.limit || ce.Largest != c.largest {
				t.Errorf("limit %q at %q, want %q at %q", ce.Limit, ce.Largest, c.limit, c.largest)
			}
			if !strings.Contains(err.Error(), c.largest) {
				t.Errorf("the message does not name %s: %v", c.largest, err)
			}
			t.Logf("refused in %s: %v", took.Round(time.Microsecond), err)
		})
	}
}

// TestPreflightBound: the bound of an unchosen union is its largest
// branch; once chosen, the canvas holds the branch and the bound is exact.
func TestPreflightBound(t *testing.T) {
	e := tinyEngine(t)
	s, err := Compile([]byte(`{"anyOf":[{"type":"boolean"},{"type":"array","minItems":5,"maxItems":5,"items":{"type":"integer","minimum":0,"maximum":9}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := Preflight(e, "five digits", s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Unions != 1 || plan.Canvas != 0 || plan.Bound < 5*(8+1) {
		t.Errorf("plan %+v: want one union, an empty canvas and a bound of at least the array's 5 number slots", plan)
	}
}

// TestPreflightFlashBlock: with FlashBlock the plan counts its attention
// cache with the KV pages (the engine charges it at admission), so a
// request whose pages alone fit the budget is refused before any forward.
func TestPreflightFlashBlock(t *testing.T) {
	e := tinyEngine(t)
	s, err := Compile([]byte(manyNotes(2)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Preflight(e, "Ticket 7: three notes.", s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flash, err := Preflight(e, "Ticket 7: three notes.", s, Options{FlashBlock: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.FlashBytes() <= 0 || flash.KVBytes != plain.KVBytes+e.FlashBytes() {
		t.Fatalf("KVBytes %d with FlashBlock, %d without; want FlashBytes %d more", flash.KVBytes, plain.KVBytes, e.FlashBytes())
	}
	tight, err := engine.New("../../testdata/models/tiny-sdar", engine.Options{KVBudget: plain.KVBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer tight.Close()
	if _, err := Preflight(tight, "Ticket 7: three notes.", s, Options{}); err != nil {
		t.Fatalf("without FlashBlock on a budget of its pages: %v", err)
	}
	var ce *CanvasError
	if _, err := Extract(context.Background(), tight, "Ticket 7: three notes.", s, Options{FlashBlock: true}); !errors.As(err, &ce) || ce.Limit != "kv budget" {
		t.Fatalf("FlashBlock on a budget of its pages only: %v, want a kv budget *CanvasError", err)
	}
	if f := tight.Stats().Forwards; f != 0 {
		t.Errorf("%d forwards ran before the refusal", f)
	}
}

// TestOptionalPartsFitTheModel: optional properties are laid out only while
// the canvas fits the model's positions after the prompt, so a schema of
// many optional fields extracts on demo-text (512 positions) with its
// required ones and as many others as fit, instead of being refused.
func TestOptionalPartsFitTheModel(t *testing.T) {
	e, err := engine.New("../../testdata/models/demo-text", engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var props []string
	for i := range 100 {
		props = append(props, fmt.Sprintf(`"f%02d":{"type":"string","maxLength":10}`, i))
	}
	doc := `{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":99},` + strings.Join(props, ",") + `},"required":["id"]}`
	s, err := Compile([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Instruction: "Extract the record as JSON."}
	plan, err := Preflight(e, "id 7", s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Prompt+plan.Bound > 512 {
		t.Fatalf("plan %+v does not fit 512 positions", plan)
	}
	res, err := Extract(context.Background(), e, "id 7", s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(res.JSON); err != nil {
		t.Fatal(err)
	}
	t.Logf("canvas %d of %d positions after a %d-token prompt: %s", res.Canvas, 512-plan.Prompt, plan.Prompt, res.JSON)
}

// TestRepairStaysWithinPositions: a repair round whose widened slots would
// run past the model's positions is not run; the extraction ends with the
// *ValidationError, never with the model's position error. (A oneOf whose
// two branches both admit the scaffolded object fails validation every
// round and repairs every slot: the twin differs only in a title.)
func TestRepairStaysWithinPositions(t *testing.T) {
	var props, names []string
	for i := range 70 {
		props = append(props, fmt.Sprintf(`"s%02d":{"type":"string"}`, i))
		names = append(names, fmt.Sprintf(`"s%02d"`, i))
	}
	obj := `{"type":"object","properties":{` + strings.Join(props, ",") + `},"required":[` + strings.Join(names, ",") + `]}`
	twin := strings.Replace(obj, `{"type":"object",`, `{"type":"object","title":"twin",`, 1)
	s, err := Compile([]byte(`{"oneOf":[` + obj + `,` + twin + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Extract(context.Background(), tinyEngine(t), "seventy strings", s, Options{Instruction: "Extract the record as JSON."})
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Msg, "no repair") {
		t.Fatalf("err = %v, want a ValidationError that stopped repairing", err)
	}
}
