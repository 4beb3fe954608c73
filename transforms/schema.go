package transforms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// maxSchemaDepth bounds the nesting of a JSON Schema.
const maxSchemaDepth = 32

var schemaTypes = map[string]bool{"object": true, "array": true, "string": true, "number": true,
	"integer": true, "boolean": true, "null": true}

// ValidateSchema checks that doc is a JSON Schema this project can scaffold: a JSON
// object whose "type" (if any) names JSON types, whose "properties" map names to
// schemas, whose "required" lists strings, and whose "items" is a schema (or a
// list of them). It returns
// the compacted schema. Errors are *Rejection with ReasonInvalidSchema.
func ValidateSchema(doc []byte) (string, error) {
	if len(doc) == 0 {
		return "", reject(StageDecode, ReasonInvalidSchema, "no JSON Schema (header %q)", "json-schema")
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return "", reject(StageDecode, ReasonInvalidSchema, "schema is not JSON: %v", err)
	}
	if err := checkSchema(v, "$", 0); err != nil {
		return "", reject(StageDecode, ReasonInvalidSchema, "%v", err)
	}
	// Compact keeps the document's key order: the properties' order is the
	// order of the scaffold's keys and of the schema in the model's prompt
	// (re-marshalling the map would sort them, which the demo checkpoint,
	// trained on schema order, reads as a different task).
	var out bytes.Buffer
	if err := json.Compact(&out, doc); err != nil {
		return "", reject(StageDecode, ReasonInvalidSchema, "schema is not JSON: %v", err)
	}
	return out.String(), nil
}

func checkSchema(v any, path string, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("%s: nested deeper than %d", path, maxSchemaDepth)
	}
	if b, ok := v.(bool); ok { // true/false are valid schemas
		_ = b
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: a schema must be an object, got %T", path, v)
	}
	switch t := m["type"].(type) {
	case nil:
	case string:
		if !schemaTypes[t] {
			return fmt.Errorf("%s.type: unknown type %q", path, t)
		}
	case []any:
		for _, x := range t {
			if s, ok := x.(string); !ok || !schemaTypes[s] {
				return fmt.Errorf("%s.type: unknown type %v", path, x)
			}
		}
	default:
		return fmt.Errorf("%s.type: must be a string or list, got %T", path, t)
	}
	if p, ok := m["properties"]; ok {
		props, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%s.properties: must be an object", path)
		}
		for k, sub := range props {
			if err := checkSchema(sub, path+".properties."+k, depth+1); err != nil {
				return err
			}
		}
	}
	if r, ok := m["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return fmt.Errorf("%s.required: must be a list", path)
		}
		for _, x := range list {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("%s.required: %v is not a string", path, x)
			}
		}
	}
	if it, ok := m["items"]; ok {
		tuple, isTuple := it.([]any) // draft-07's tuple form
		if !isTuple {
			tuple = []any{it}
		}
		for i, sub := range tuple {
			p := path + ".items"
			if isTuple {
				p = fmt.Sprintf("%s.items[%d]", path, i)
			}
			if err := checkSchema(sub, p, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateText checks that text is non-empty UTF-8.
func ValidateText(text []byte) error {
	if len(text) == 0 {
		return reject(StageDecode, ReasonInvalidText, "empty text")
	}
	if !utf8.Valid(text) {
		return reject(StageDecode, ReasonInvalidText, "text is not UTF-8")
	}
	return nil
}
