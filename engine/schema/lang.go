package schema

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// freeString is the body of a JSON string between fixed quotes: no
// unescaped quote or control character, well-formed escapes, valid UTF-8,
// at least minLen code points (maxLength is counted by the dfa).
// State: esc (0 none, 1 after '\', 2..5 hex digits of \u, 7 after \uD:
// escaped surrogates are not produced), need (UTF-8 continuation bytes
// still due), rng (range of the next continuation byte), cnt (code points,
// capped at minLen).
type freeString struct{ minLen int }

func (f freeString) start() string { return string([]byte{0, 0, 0, 0}) }

func (f freeString) accept(k string) bool {
	return k[0] == 0 && k[1] == 0 && int(k[3]) >= f.minLen
}

var contRange = [5][2]byte{{0x80, 0xBF}, {0xA0, 0xBF}, {0x80, 0x9F}, {0x90, 0xBF}, {0x80, 0x8F}}

func (f freeString) step(k string, b byte) (string, int, bool) {
	esc, need, rng, cnt := k[0], k[1], k[2], int(k[3])
	chars := 0
	switch {
	case need > 0:
		if r := contRange[rng]; b < r[0] || b > r[1] {
			return "", 0, false
		}
		need, rng = need-1, 0
	case esc == 1:
		switch {
		case strings.IndexByte(`"\/bfnrt`, b) >= 0:
			esc = 0
		case b == 'u':
			esc = 2
		default:
			return "", 0, false
		}
	case esc == 2: // first hex digit of \uXXXX: no surrogates (D800-DFFF)
		switch {
		case b == 'd' || b == 'D':
			esc = 7
		case isHex(b):
			esc = 3
		default:
			return "", 0, false
		}
	case esc == 7:
		if b < '0' || b > '7' {
			return "", 0, false
		}
		esc = 4
	case esc >= 3:
		if !isHex(b) {
			return "", 0, false
		}
		if esc++; esc == 6 {
			esc = 0
		}
	default:
		chars = 1
		switch {
		case b == '"' || b < 0x20 || b == 0x7F:
			return "", 0, false
		case b == '\\':
			esc = 1
		case b < 0x80:
		case b >= 0xC2 && b <= 0xDF:
			need = 1
		case b == 0xE0:
			need, rng = 2, 1
		case b == 0xED:
			need, rng = 2, 2
		case b >= 0xE1 && b <= 0xEF:
			need = 2
		case b == 0xF0:
			need, rng = 3, 3
		case b >= 0xF1 && b <= 0xF3:
			need = 3
		case b == 0xF4:
			need, rng = 3, 4
		default:
			return "", 0, false
		}
	}
	cnt = min(cnt+chars, f.minLen)
	return string([]byte{esc, need, rng, byte(cnt)}), chars, true
}

func isHex(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// pattern is a regular expression run as an NFA over code points, with
// JSON Schema's search semantics (unanchored unless the pattern anchors).
type pattern struct {
	prog *syntax.Prog
	// prefixes are the incomplete UTF-8 encodings of the non-ASCII
	// characters the expression names in literals and small classes: a
	// slot may spell those byte by byte (a small vocabulary may have no
	// token for é, € or 名), any other character only with tokens holding
	// it whole.
	prefixes map[string]bool
}

// maxSpelled bounds the characters of a pattern that may be spelled byte
// by byte.
const maxSpelled = 4096

func spelledPrefixes(re *syntax.Regexp) map[string]bool {
	out := map[string]bool{}
	n := 0
	add := func(lo, hi rune) {
		lo = max(lo, 0x80)
		if hi < lo || int(hi-lo) >= maxSpelled-n {
			return
		}
		for r := lo; r <= hi; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			n++
			b := []byte(string(r))
			for i := 1; i < len(b); i++ {
				out[string(b[:i])] = true
			}
		}
	}
	var walk func(re *syntax.Regexp)
	walk = func(re *syntax.Regexp) {
		switch re.Op {
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				add(r, r)
			}
		case syntax.OpCharClass:
			for i := 0; i+1 < len(re.Rune); i += 2 {
				add(re.Rune[i], re.Rune[i+1])
			}
		}
		for _, sub := range re.Sub {
			walk(sub)
		}
	}
	walk(re)
	return out
}

func newPattern(expr string) (*pattern, error) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("not a supported regular expression: %v", err)
	}
	any, _ := syntax.Parse(`(?s:.*)`, syntax.Perl)
	whole := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{any, re, any}}
	prog, err := syntax.Compile(whole.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > 4000 {
		return nil, errors.New("pattern too large")
	}
	for _, in := range prog.Inst {
		if in.Op == syntax.InstEmptyWidth && syntax.EmptyOp(in.Arg)&(syntax.EmptyWordBoundary|syntax.EmptyNoWordBoundary) != 0 {
			return nil, errors.New(`word boundaries (\b, \B) are not regular over a slot`)
		}
	}
	return &pattern{prog: prog, prefixes: spelledPrefixes(re)}, nil
}

const (
	beginOps = syntax.EmptyBeginLine | syntax.EmptyBeginText
	endOps   = syntax.EmptyEndLine | syntax.EmptyEndText
)

// closure follows empty transitions from pcs; end assertions stay pending
// in the set unless atEnd.
func (p *pattern) closure(pcs []uint32, atStart, atEnd bool) []uint32 {
	var out []uint32
	seen := map[uint32]bool{}
	var visit func(pc uint32)
	visit = func(pc uint32) {
		if seen[pc] {
			return
		}
		seen[pc] = true
		in := &p.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			visit(in.Out)
			visit(in.Arg)
		case syntax.InstCapture, syntax.InstNop:
			visit(in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			if op&beginOps != 0 && !atStart {
				return
			}
			if op&endOps != 0 && !atEnd {
				out = append(out, pc) // pending until the end
				return
			}
			visit(in.Out)
		case syntax.InstFail:
		default: // rune instructions and Match
			out = append(out, pc)
		}
	}
	for _, pc := range pcs {
		visit(pc)
	}
	slices.Sort(out)
	return out
}

func (p *pattern) startSet() []uint32 { return p.closure([]uint32{uint32(p.prog.Start)}, true, false) }

func (p *pattern) stepRune(pcs []uint32, r rune) []uint32 {
	var next []uint32
	for _, pc := range pcs {
		in := &p.prog.Inst[pc]
		ok := false
		switch in.Op {
		case syntax.InstRune, syntax.InstRune1:
			ok = in.MatchRune(r)
		case syntax.InstRuneAny:
			ok = true
		case syntax.InstRuneAnyNotNL:
			ok = r != '\n'
		}
		if ok {
			next = append(next, in.Out)
		}
	}
	return p.closure(next, false, false)
}

func (p *pattern) matchesAtEnd(pcs []uint32, atStart bool) bool {
	var resolved []uint32
	for _, pc := range pcs {
		in := &p.prog.Inst[pc]
		if in.Op == syntax.InstEmptyWidth {
			resolved = append(resolved, in.Out)
		} else {
			resolved = append(resolved, pc)
		}
	}
	for _, pc := range p.closure(resolved, atStart, true) {
		if p.prog.Inst[pc].Op == syntax.InstMatch {
			return true
		}
	}
	return false
}

// patString is a JSON string body whose decoded value a pattern matches:
// code points assembled from UTF-8 bytes or from escapes (\" \\ \/ \b \f
// \n \r \t \uXXXX, no surrogates), so a pattern may need a quote, a
// backslash, a control character or any non-ASCII character.
// Key: cnt, number of partial bytes, 3 partial bytes, atStart, esc (0 none,
// 1 after '\', 2..5 hex digits read + 2), the \u value so far (2 bytes),
// then the NFA state as 2 bytes per pc.
type patString struct {
	p      *pattern
	and    *pattern // a second pattern the value must match too (a format with a pattern); nil: none
	minLen int
}

// pcsOf and withPCs read and write the key's NFA states: p's, then (with
// and) a separator-free second set after p's count in two bytes.
func (s patString) pcsOf(k string) (p, q []uint32) {
	rest := k[patHead:]
	if s.and == nil {
		return decodePCs(rest), nil
	}
	n := int(rest[0])<<8 | int(rest[1])
	return decodePCs(rest[2 : 2+2*n]), decodePCs(rest[2+2*n:])
}

func (s patString) withPCs(head []byte, p, q []uint32) string {
	if s.and == nil {
		return encodePCs(head, p)
	}
	return encodePCs([]byte(encodePCs(append(head, byte(len(p)>>8), byte(len(p))), p)), q)
}

const patHead = 9

func encodePCs(head []byte, pcs []uint32) string {
	for _, pc := range pcs {
		head = append(head, byte(pc>>8), byte(pc))
	}
	return string(head)
}

func decodePCs(s string) []uint32 {
	pcs := make([]uint32, len(s)/2)
	for i := range pcs {
		pcs[i] = uint32(s[2*i])<<8 | uint32(s[2*i+1])
	}
	return pcs
}

func (s patString) start() string {
	var q []uint32
	if s.and != nil {
		q = s.and.startSet()
	}
	return s.withPCs([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0}, s.p.startSet(), q)
}

func (s patString) accept(k string) bool {
	if k[1] != 0 || k[6] != 0 || int(k[0]) < s.minLen {
		return false
	}
	p, q := s.pcsOf(k)
	return s.p.matchesAtEnd(p, k[5] == 1) && (s.and == nil || s.and.matchesAtEnd(q, k[5] == 1))
}

// escapes maps the byte after a backslash to the code point it stands for.
var escapes = map[byte]rune{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func hexVal(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return int(b - '0')
	case b >= 'a' && b <= 'f':
		return int(b-'a') + 10
	case b >= 'A' && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

func (s patString) step(k string, b byte) (string, int, bool) {
	cnt, np, esc := int(k[0]), int(k[1]), k[6]
	keep := func(head []byte) (string, int, bool) { return string(head) + k[patHead:], 0, true }
	var r rune
	switch {
	case esc == 1:
		if b == 'u' {
			return keep([]byte{byte(cnt), 0, 0, 0, 0, k[5], 2, 0, 0})
		}
		e, ok := escapes[b]
		if !ok {
			return "", 0, false
		}
		r = e
	case esc >= 2:
		// \u00XX only for the characters that need it (U+0000-U+001F,
		// U+007F): every other one has a shorter spelling, and tracking
		// any 16-bit value would multiply the states.
		h := hexVal(b)
		v := int(k[8])<<4 | h
		switch {
		case h < 0, esc <= 3 && h != 0, esc == 4 && h > 7:
			return "", 0, false
		case esc < 5:
			return keep([]byte{byte(cnt), 0, 0, 0, 0, k[5], esc + 1, 0, byte(v)})
		case v >= 0x20 && v != 0x7F:
			return "", 0, false
		}
		r = rune(v)
	case np == 0 && b == '\\':
		return keep([]byte{byte(cnt), 0, 0, 0, 0, k[5], 1, 0, 0})
	case np == 0 && (b == '"' || b < 0x20 || b == 0x7F):
		return "", 0, false
	default:
		part := append([]byte(k[2:2+np]), b)
		if !utf8.FullRune(part) {
			if !s.p.prefixes[string(part)] || s.and != nil && !s.and.prefixes[string(part)] {
				return "", 0, false
			}
			head := []byte{byte(cnt), byte(len(part)), 0, 0, 0, k[5], 0, 0, 0}
			copy(head[2:5], part)
			return keep(head)
		}
		var size int
		r, size = utf8.DecodeRune(part)
		if r == utf8.RuneError || size != len(part) {
			return "", 0, false
		}
	}
	p, q := s.pcsOf(k)
	p = s.p.stepRune(p, r)
	if len(p) == 0 {
		return "", 0, false
	}
	if s.and != nil {
		if q = s.and.stepRune(q, r); len(q) == 0 {
			return "", 0, false
		}
	}
	return s.withPCs([]byte{byte(min(cnt+1, s.minLen)), 0, 0, 0, 0, 0, 0, 0, 0}, p, q), 1, true
}
