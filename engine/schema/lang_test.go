package schema

import "testing"

func runStepper(st stepper, s string) bool {
	k := st.start()
	for i := 0; i < len(s); i++ {
		var ok bool
		if k, _, ok = st.step(k, s[i]); !ok {
			return false
		}
	}
	return st.accept(k)
}

func TestLanguages(t *testing.T) {
	pat := func(expr string, minLen int) stepper {
		p, err := newPattern(expr)
		if err != nil {
			t.Fatal(err)
		}
		return patString{p: p, minLen: minLen}
	}
	num := func(n Node) stepper { n.Kind = Number; return newNumber(&n) }
	cases := []struct {
		name string
		st   stepper
		in   string
		want bool
	}{
		{"free", freeString{}, `hello`, true},
		{"free empty", freeString{}, ``, true},
		{"free minLen", freeString{minLen: 2}, `a`, false},
		{"free escape", freeString{}, `a\"b\\c\u00e9`, true},
		{"free bad escape", freeString{}, `a\x`, false},
		{"free surrogate escape", freeString{}, `\ud83d\ude00`, false},
		{"free bmp escape", freeString{}, `\uD7FF\uE000`, true},
		{"free open escape", freeString{}, `a\u00`, false},
		{"free quote", freeString{}, `a"b`, false},
		{"free control", freeString{}, "a\nb", false},
		{"free utf8", freeString{}, "héllo😀", true},
		{"free bad utf8", freeString{}, "\xc3(", false},
		{"free surrogate", freeString{}, "\xed\xa0\x80", false},
		{"free cut utf8", freeString{}, "\xc3", false},
		{"pattern", pat(`^INV-[0-9]{4}$`, 0), "INV-0042", true},
		{"pattern short", pat(`^INV-[0-9]{4}$`, 0), "INV-004", false},
		{"pattern search", pat(`[0-9]+`, 0), "ab1c", true},
		{"pattern search none", pat(`[0-9]+`, 0), "abc", false},
		{"pattern anchored end", pat(`ab$`, 0), "xxab", true},
		{"pattern anchored end bad", pat(`ab$`, 0), "abx", false},
		{"pattern unicode", pat(`^é+$`, 0), "éé", true},
		{"date", pat(formatPatterns["date"], 0), "2024-02-28", true},
		{"date bad", pat(formatPatterns["date"], 0), "2024-02-30", false},
		{"date-time", pat(formatPatterns["date-time"], 0), "2024-02-28T12:30:00Z", true},
		{"email", pat(formatPatterns["email"], 0), "ann.lee@example.com", true},
		{"email bad", pat(formatPatterns["email"], 0), "ann@", false},
		{"uri", pat(formatPatterns["uri"], 0), "https://example.com/a/b", true},
		{"int", num(Node{Integer: true}), "-42", true},
		{"int frac", num(Node{Integer: true}), "4.2", false},
		{"int lead zero", num(Node{Integer: true}), "042", false},
		{"num", num(Node{}), "-0.25", true},
		{"num dot", num(Node{}), "1.", false},
		{"neg zero", num(Node{}), "-0", false},
		{"range in", num(Node{Min: "1", Max: "999", Integer: true}), "999", true},
		{"range over", num(Node{Min: "1", Max: "999", Integer: true}), "1000", false},
		{"range under", num(Node{Min: "1", Max: "999", Integer: true}), "0", false},
		{"range frac", num(Node{Min: "-2.5", Max: "3.75"}), "3.75", true},
		{"range frac over", num(Node{Min: "-2.5", Max: "3.75"}), "3.751", false},
		{"range neg", num(Node{Min: "-2.5", Max: "3.75"}), "-2.5", true},
		{"range neg over", num(Node{Min: "-2.5", Max: "3.75"}), "-2.51", false},
		{"excl max", num(Node{Max: "10", ExclMax: true}), "10", false},
		{"excl max below", num(Node{Max: "10", ExclMax: true}), "9.999", true},
		{"excl min", num(Node{Min: "0", ExclMin: true}), "0", false},
		{"excl min above", num(Node{Min: "0", ExclMin: true}), "0.001", true},
		{"neg max", num(Node{Max: "-5"}), "-4", false},
		{"neg max ok", num(Node{Max: "-5"}), "-5.5", true},
		{"multiple", num(Node{MultipleOf: "0.25"}), "1.75", true},
		{"multiple bad", num(Node{MultipleOf: "0.25"}), "1.7", false},
		{"multiple int", num(Node{MultipleOf: "5", Integer: true}), "35", true},
		{"multiple int bad", num(Node{MultipleOf: "5", Integer: true}), "36", false},
		{"cents", num(Node{MultipleOf: "0.01"}), "12.345", false},
	}
	for _, c := range cases {
		if got := runStepper(c.st, c.in); got != c.want {
			t.Errorf("%s: %q -> %v, want %v", c.name, c.in, got, c.want)
		}
	}
}
