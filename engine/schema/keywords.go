package schema

import (
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Keywords and drafts. JSON Schema treats a keyword it does not know as an
// annotation: draft-04's id, OpenAPI's nullable and discriminator, x-*
// vendor keys, self, readonly, name... never constrain an instance, so the
// compiler ignores every keyword outside the validation vocabulary below
// (as the validator does). A validation keyword that the scaffold cannot
// honour is a *CompileError naming it.

// assertions are the keywords that constrain instances, over drafts 4 to
// 2020-12; the value says whether the compiler honours it.
var assertions = map[string]bool{
	"type": true, "enum": true, "const": true,
	"properties": true, "required": true, "additionalProperties": true,
	"patternProperties": true, "propertyNames": true,
	"minProperties": true, "maxProperties": true,
	"dependentRequired": true, "dependencies": true,
	"unevaluatedProperties": true, "unevaluatedItems": true,
	"items": true, "prefixItems": true, "additionalItems": true,
	"minItems": true, "maxItems": true, "uniqueItems": true,
	"minLength": true, "maxLength": true, "pattern": true, "format": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
	"multipleOf": true,
	"$ref":       true, "$recursiveRef": true,
	"allOf": true, "anyOf": true, "oneOf": true,
	"not": true,                             // in the forms rewriteNot honours
	"if":  true, "then": true, "else": true, // as a union (ifToAnyOf)

	"contains": false, "minContains": false, "maxContains": false,
	"dependentSchemas": false, "$dynamicRef": false,
}

// structural keywords hold subschemas or identify them; they never
// constrain an instance by themselves.
var structural = map[string]bool{"$defs": true, "definitions": true, "$id": true, "id": true, "$anchor": true, "$schema": true}

// draft is the JSON Schema version a document is read under.
type draft int

const (
	draft4    draft = 4
	draft6    draft = 6
	draft7    draft = 7
	draft2019 draft = 2019
	draft2020 draft = 2020
)

// validatorDraft is the validator's draft for d.
func (d draft) validatorDraft() *jsonschema.Draft {
	switch d {
	case draft4:
		return jsonschema.Draft4
	case draft6:
		return jsonschema.Draft6
	case draft7:
		return jsonschema.Draft7
	case draft2019:
		return jsonschema.Draft2019
	}
	return jsonschema.Draft2020
}

// refSiblings reports whether keywords beside $ref apply (2019-09 on); in
// drafts 4 to 7 a $ref replaces its schema object.
func (d draft) refSiblings() bool { return d >= draft2019 }

// draftOf reads the draft of a document: its $schema, else what its
// keywords show (a boolean exclusiveMinimum or a root id is draft-04;
// definitions, dependencies or an array of items is draft-07), else
// 2020-12. known is false for a $schema naming no draft the validator
// knows; the document is then validated as the draft its keywords show.
func draftOf(root *jv) (d draft, known bool) {
	if s := root.get("$schema"); s != nil && s.kind == 's' {
		for _, c := range []struct {
			mark string
			d    draft
		}{{"draft-04", draft4}, {"draft-06", draft6}, {"draft-07", draft7}, {"2019-09", draft2019}, {"2020-12", draft2020}} {
			if strings.Contains(s.str, c.mark) {
				return c.d, true
			}
		}
	} else if s == nil {
		known = true
	}
	switch {
	case hasKeyword(root, func(k string, v *jv) bool {
		return (k == "exclusiveMinimum" || k == "exclusiveMaximum") && v.kind == 'b'
	}) || root.get("id") != nil && root.get("id").kind == 's' && root.get("$id") == nil:
		return draft4, known
	case hasKeyword(root, func(k string, v *jv) bool {
		return k == "definitions" && v.kind == 'o' || k == "dependencies" && v.kind == 'o' || k == "items" && v.kind == 'a'
	}):
		return draft7, known
	}
	return draft2020, known
}

// hasKeyword reports whether f holds for a member of any object in v.
func hasKeyword(v *jv, f func(k string, v *jv) bool) bool {
	switch v.kind {
	case 'o':
		for _, e := range v.obj {
			if f(e.key, e.val) || hasKeyword(e.val, f) {
				return true
			}
		}
	case 'a':
		for _, e := range v.arr {
			if hasKeyword(e, f) {
				return true
			}
		}
	}
	return false
}

// without returns v's members except the keys named.
func (v *jv) without(keys ...string) *jv {
	out := &jv{kind: 'o'}
	for _, e := range v.obj {
		skip := false
		for _, k := range keys {
			skip = skip || e.key == k
		}
		if !skip {
			out.obj = append(out.obj, e)
		}
	}
	return out
}

// constrains reports whether schema object v holds any validation keyword.
func constrains(v *jv) bool {
	for _, e := range v.obj {
		if _, ok := assertions[e.key]; ok {
			return true
		}
	}
	return false
}
