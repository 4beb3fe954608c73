package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"dlmstream/engine"
	"dlmstream/engine/decode"
	"dlmstream/engine/schema"
)

// ExtractReport is the extraction pass over a source's compiled schemas.
type ExtractReport struct {
	Tried      int     `json:"tried"`
	Returned   int     `json:"returned"` // outputs Extract returned
	Valid      int     `json:"valid"`    // returned outputs both validators accept
	Compliance float64 `json:"compliance_pct"`
	// Refusals groups the extractions that returned no output by reason:
	// "invalid after repairs" (a *schema.ValidationError, with the keyword
	// that failed), a scaffold limit's CompileError keyword and kind,
	// "context length" (prompt and canvas over the model's positions),
	// "timeout", "panic", or the error's first words.
	Refusals []Reason `json:"refusals"`
	// Invalid lists every returned output a validator rejected.
	Invalid  []Invalid `json:"invalid,omitempty"`
	Decoded  int       `json:"decoded"`  // masked tokens decoded, returned outputs
	Forwards int       `json:"forwards"` // forwards, returned outputs
	TPF      float64   `json:"tokens_per_forward"`
}

// Invalid is a returned output that does not validate.
type Invalid struct {
	Path   string `json:"path"`
	Output string `json:"output"`
	Error  string `json:"error"`
}

// extractor runs the real extraction on one engine.
type extractor struct {
	e              *engine.Engine
	timeout        time.Duration // per extraction
	compileTimeout time.Duration
	instruction    string
	arrayItems     int // schema.Options.ArrayItems
}

// extractSource extracts n of r's compiled schemas, spread evenly over
// them (compiled again: a source's compiled schemas are not kept), and
// validates each output.
func (x *extractor) extractSource(r *Report, n int) {
	er := &ExtractReport{}
	reasons := map[string]*Reason{}
	picked := spread(len(r.compiled), n)
	for _, i := range picked {
		path := r.compiled[i]
		er.Tried++
		s, reason, err := compileFile(path, x.compileTimeout)
		var res *schema.Result
		if err == nil {
			res, reason, err = x.extractOne(s)
		}
		if err != nil {
			rs := reasons[reason]
			if rs == nil {
				rs = &Reason{Reason: reason, Example: path + ": " + oneLine(err.Error(), 300)}
				reasons[reason] = rs
			}
			rs.Count++
			continue
		}
		er.Returned++
		er.Decoded += res.Decoded
		er.Forwards += res.Forwards
		if err := validate(s, res.JSON); err != nil {
			er.Invalid = append(er.Invalid, Invalid{Path: path, Output: string(res.JSON), Error: oneLine(err.Error(), 500)})
			continue
		}
		er.Valid++
	}
	er.Compliance = pct(er.Valid, er.Returned)
	er.TPF = float64(er.Decoded) / float64(max(er.Forwards, 1))
	er.Refusals, _ = top(reasons, -1)
	r.Extract = er
}

// spread picks n of count indices, evenly spaced (all if n >= count).
func spread(count, n int) []int {
	n = min(n, count)
	out := make([]int, n)
	for i := range out {
		out[i] = i * count / n
	}
	return out
}

// extractOne runs schema.Extract under the timeout with panics recovered.
// A run that ignores its cancelled context is abandoned after a grace
// second and counted as a timeout.
func (x *extractor) extractOne(s *schema.Schema) (*schema.Result, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), x.timeout)
	defer cancel()
	res, how, err := guarded(x.timeout+time.Second, func() (*schema.Result, error) {
		return schema.Extract(ctx, x.e, syntheticText(s), s, schema.Options{
			Policy: decode.Threshold{Tau: 0.9}, Instruction: x.instruction, ArrayItems: x.arrayItems})
	})
	switch {
	case how == "panic":
		return nil, "panic", err
	case how == "timeout":
		return nil, "timeout", fmt.Errorf("extraction ran over %v", x.timeout)
	case err != nil:
		return nil, refusalOf(ctx, err), err
	}
	return res, "", nil
}

// refusalOf groups an extraction error.
func refusalOf(ctx context.Context, err error) string {
	var ve *schema.ValidationError
	var ce *schema.CompileError
	var cv *schema.CanvasError
	switch {
	case errors.As(err, &ve):
		// The validator's message names the keyword that failed first.
		if m := failedKeyword.FindStringSubmatch(ve.Msg); m != nil {
			return "invalid after repairs: " + m[1]
		}
		return "invalid after repairs"
	case errors.As(err, &ce):
		return ce.Keyword + ": " + kindOf(ce.Msg)
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.As(err, &cv) && cv.Limit == "context":
		return "context length"
	case errors.As(err, &cv):
		return "kv budget"
	}
	w := strings.Fields(err.Error())
	return strings.Join(w[:min(len(w), 3)], " ")
}

var failedKeyword = regexp.MustCompile(`'([A-Za-z$]+)' failed`)

// validate checks out twice: with the schema's own validator, and with a
// validator compiled afresh from the schema's bytes (santhosh-tekuri/
// jsonschema, formats asserted, the draft the schema was read as), so that
// a fault in the compiled document or its validator cannot hide an
// invalid output.
func validate(s *schema.Schema, out []byte) error {
	if err := s.Validate(out); err != nil {
		return err
	}
	v, err := freshValidator(s)
	if err != nil {
		return fmt.Errorf("fresh validator: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		return err
	}
	return v.Validate(inst)
}

func freshValidator(s *schema.Schema) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.Source))
	if err != nil {
		return nil, err
	}
	compile := func(doc any) (*jsonschema.Schema, error) {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(drafts[s.Draft()])
		c.AssertFormat()
		if err := c.AddResource("mem:///schema.json", doc); err != nil {
			return nil, err
		}
		return c.Compile("mem:///schema.json")
	}
	v, err := compile(doc)
	if m, ok := doc.(map[string]any); err != nil && ok && m["$schema"] != nil {
		// A $schema naming no draft the validator knows: engine/schema
		// validates such a document as the draft its keywords show.
		delete(m, "$schema")
		v, err = compile(m)
	}
	return v, err
}

var drafts = map[int]*jsonschema.Draft{4: jsonschema.Draft4, 6: jsonschema.Draft6, 7: jsonschema.Draft7,
	2019: jsonschema.Draft2019, 2020: jsonschema.Draft2020}

// syntheticText is a short input describing a record of s: its title, then
// up to six of its top-level properties with a plausible value each.
func syntheticText(s *schema.Schema) string {
	var b strings.Builder
	b.WriteString("Record")
	n := s.Root
	if n.Kind != schema.Object {
		fmt.Fprintf(&b, " (%s): %s.", n.Kind, sample(n))
		return b.String()
	}
	for i, p := range n.Props {
		if i == 6 {
			break
		}
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s is %s", sep, p.Name, sample(p.Node))
	}
	b.WriteString(".")
	return b.String()
}

// sample is a plausible value for node n, as text.
func sample(n *schema.Node) string {
	switch n.Kind {
	case schema.Number:
		if n.Min != "" {
			return n.Min
		}
		return "42"
	case schema.Choice:
		if len(n.Alts) > 0 {
			return n.Alts[0]
		}
	case schema.Array:
		return "a list of two items"
	case schema.Object:
		return "an object"
	case schema.Union:
		if len(n.Branches) > 0 {
			return sample(n.Branches[0])
		}
	}
	switch n.Format {
	case "date":
		return "2024-03-05"
	case "date-time":
		return "2024-03-05T10:00:00Z"
	case "email":
		return "ann@example.com"
	case "uri", "url":
		return "https://example.com/a"
	}
	return "Ann Lee"
}
