package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// jv is a parsed JSON value that keeps the order of object keys (the
// scaffold lays properties out in schema order).
type jv struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	obj  []kv
	arr  []*jv
	str  string
	num  json.Number
	b    bool
}

type kv struct {
	key string
	val *jv
}

func (v *jv) get(key string) *jv {
	if v == nil || v.kind != 'o' {
		return nil
	}
	for _, e := range v.obj {
		if e.key == key {
			return e.val
		}
	}
	return nil
}

// compact renders v as compact JSON.
func (v *jv) compact() string {
	var sb strings.Builder
	v.write(&sb)
	return sb.String()
}

func (v *jv) write(sb *strings.Builder) {
	switch v.kind {
	case 'o':
		sb.WriteByte('{')
		for i, e := range v.obj {
			if i > 0 {
				sb.WriteByte(',')
			}
			b, _ := json.Marshal(e.key)
			sb.Write(b)
			sb.WriteByte(':')
			e.val.write(sb)
		}
		sb.WriteByte('}')
	case 'a':
		sb.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				sb.WriteByte(',')
			}
			e.write(sb)
		}
		sb.WriteByte(']')
	case 's':
		b, _ := json.Marshal(v.str)
		sb.Write(b)
	case 'n':
		sb.WriteString(v.num.String())
	case 'b':
		if v.b {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	default:
		sb.WriteString("null")
	}
}

// parseJSON parses a schema document. Nesting deeper than MaxDepth, more
// than MaxSchemaValues values and a key repeated within one object are
// *CompileErrors naming the pointer; each limit is checked before the value
// over it is read.
func parseJSON(data []byte) (*jv, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	p := &parser{d: d}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// parser reads one JSON value token by token, keeping the path to the
// current value for error pointers.
type parser struct {
	d      *json.Decoder
	path   []string // reference tokens of the value being read
	values int      // read so far (MaxSchemaValues)
}

func (p *parser) ptr() string {
	s := ""
	for _, tok := range p.path {
		s = ptrJoin(s, tok)
	}
	return s
}

func (p *parser) value() (*jv, error) {
	if p.values++; p.values > MaxSchemaValues {
		return nil, cerr(p.ptr(), "size", "more than %d JSON values (MaxSchemaValues)", MaxSchemaValues)
	}
	t, err := p.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		if len(p.path) >= MaxDepth {
			return nil, cerr(p.ptr(), "depth", "JSON nested deeper than %d levels (MaxDepth)", MaxDepth)
		}
		switch t {
		case '{':
			return p.object()
		case '[':
			return p.array()
		}
	case string:
		return &jv{kind: 's', str: t}, nil
	case json.Number:
		if n, ok := numberDigits(t.String()); !ok || n > MaxNumberDigits {
			lit := t.String()
			if len(lit) > 40 {
				lit = lit[:40] + "..."
			}
			return nil, cerr(p.ptr(), "number", "%s has more than %d digits written out (MaxNumberDigits)", lit, MaxNumberDigits)
		}
		return &jv{kind: 'n', num: t}, nil
	case bool:
		return &jv{kind: 'b', b: t}, nil
	case nil:
		return &jv{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", t)
}

// object reads an object's members after its '{'. A repeated key is an
// error: encoding/json (and so the validator) keeps the last, a scaffold
// built from the first would never validate.
func (p *parser) object() (*jv, error) {
	v := &jv{kind: 'o'}
	var keys map[string]bool // for objects with many members
	for p.d.More() {
		kt, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		dup := false
		if keys == nil && len(v.obj) < 16 {
			dup = slices.ContainsFunc(v.obj, func(e kv) bool { return e.key == key })
		} else {
			if keys == nil {
				keys = make(map[string]bool, 2*len(v.obj))
				for _, e := range v.obj {
					keys[e.key] = true
				}
			}
			dup = keys[key]
			keys[key] = true
		}
		p.path = append(p.path, key)
		if dup {
			return nil, cerr(p.ptr(), "duplicate key", "key %q appears more than once in one object (parsers disagree on which one counts)", key)
		}
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		v.obj = append(v.obj, kv{key, val})
	}
	_, err := p.d.Token()
	return v, err
}

func (p *parser) array() (*jv, error) {
	v := &jv{kind: 'a'}
	for p.d.More() {
		p.path = append(p.path, strconv.Itoa(len(v.arr)))
		e, err := p.value()
		if err != nil {
			return nil, err
		}
		p.path = p.path[:len(p.path)-1]
		v.arr = append(v.arr, e)
	}
	_, err := p.d.Token()
	return v, err
}

// doc is v as encoding/json (with UseNumber) would decode it: the document
// the validator compiles is the one the scaffold was built from.
func (v *jv) doc() any {
	switch v.kind {
	case 'o':
		m := make(map[string]any, len(v.obj))
		for _, e := range v.obj {
			m[e.key] = e.val.doc()
		}
		return m
	case 'a':
		a := make([]any, len(v.arr))
		for i, e := range v.arr {
			a[i] = e.doc()
		}
		return a
	case 's':
		return v.str
	case 'n':
		return v.num
	case 'b':
		return v.b
	}
	return nil
}

// numberDigits is how many digits a JSON number literal has written out in
// plain decimal (1e6: 7, 1.5e-3: 5), without computing it; false if the
// exponent overflows an int.
func numberDigits(num string) (int, bool) {
	mant, exp := num, 0
	if i := strings.IndexAny(num, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(num[i+1:], "+"))
		if err != nil {
			return 0, false
		}
		mant, exp = num[:i], e
	}
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	i, f := len(intPart)+exp, len(frac)-exp
	return max(i, 1) + max(f, 0), true
}
