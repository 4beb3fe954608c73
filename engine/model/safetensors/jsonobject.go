package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// member is one key and raw value of a JSON object, in file order.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers decodes b, which must be exactly one JSON object (surrounding
// whitespace allowed), into its members. Unlike json.Unmarshal into a map,
// which silently keeps the last of two equal keys, a repeated key is an
// error. what names the object in errors ("header", "__metadata__").
func objectMembers(b []byte, what string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %v", what, syntaxError(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s is %s, want a JSON object", what, describe(tok))
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s is not valid JSON: %v", what, syntaxError(err))
		}
		key, ok := tok.(string)
		if !ok { // the decoder only yields strings in key position
			return nil, fmt.Errorf("%s has a non-string key %v", what, tok)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s has key %q twice (a duplicate would silently replace the first)", what, key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: value of %q is not valid JSON: %v", what, key, syntaxError(err))
		}
		ms = append(ms, member{key, v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("%s is not valid JSON: %v", what, syntaxError(err))
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("%s is not valid JSON after its object: %v", what, syntaxError(err))
		}
		return nil, fmt.Errorf("%s has %s after its object", what, describe(tok))
	}
	return ms, nil
}

// describe names a JSON token's kind for errors.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", tok)
}

// syntaxError turns the decoder's end-of-input errors into a sentence.
func syntaxError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON")
	}
	return err
}
