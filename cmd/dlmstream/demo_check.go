package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// fieldCheck compares an extracted record with the gold one field by
// field: "right", or "WRONG" and each field that differs (got, then what
// the text holds).
func fieldCheck(got []byte, gold string) string {
	var g, w map[string]any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(gold), &w) != nil {
		return "WRONG (not a JSON object)"
	}
	var keys []string
	for k := range w {
		keys = append(keys, k)
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var diff []string
	for _, k := range keys {
		if !reflect.DeepEqual(g[k], w[k]) {
			diff = append(diff, fmt.Sprintf("%s %s, the text says %s", k, jsonText(g[k]), jsonText(w[k])))
		}
	}
	if len(diff) == 0 {
		return "right"
	}
	return "WRONG: " + strings.Join(diff, "; ")
}

// jsonText writes v as JSON ("absent" for a missing field).
func jsonText(v any) string {
	if v == nil {
		return "absent"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
