package main

import "testing"

func TestFieldCheck(t *testing.T) {
	const gold = `{"a":"x","n":3,"b":true}`
	for _, c := range []struct{ got, want string }{
		{`{"b":true,"a":"x","n":3}`, "right"},
		{`{"a":"y","n":3,"b":true}`, `WRONG: a "y", the text says "x"`},
		{`{"a":"x","b":false}`, `WRONG: b false, the text says true; n absent, the text says 3`},
		{`{"a":"x","n":3,"b":true,"c":1}`, `WRONG: c 1, the text says absent`},
		{`[1]`, "WRONG (not a JSON object)"},
	} {
		if got := fieldCheck([]byte(c.got), gold); got != c.want {
			t.Errorf("fieldCheck(%s) = %q, want %q", c.got, got, c.want)
		}
	}
}
