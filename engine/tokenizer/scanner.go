package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Hand-written scanners for the split patterns that real tokenizer.json
// files use. Go's regexp cannot compile them (they use the look-ahead
// `\s+(?!\S)`), and a backtracking engine is slow, so each known pattern
// string is recognised exactly and replaced by a scanner that reproduces
// Oniguruma's leftmost-first matching of that pattern.

// Exact pattern strings as they appear in tokenizer.json.
const (
	// Qwen2, Qwen2.5, Qwen3.
	patternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// GPT-4 cl100k_base and Llama 3.
	patternCL100K = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// GPT-2; also what ByteLevel uses when use_regex is true.
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// scanner splits text the way one of the known patterns does.
type scanner struct {
	gpt2      bool // GPT-2 family: case-sensitive contractions, optional leading space
	maxDigits int  // cl100k family: \p{N}{1,maxDigits}
}

// knownScanner returns the scanner for a recognised pattern string.
func knownScanner(pattern string) (*scanner, bool) {
	switch pattern {
	case patternQwen2:
		return &scanner{maxDigits: 1}, true
	case patternCL100K:
		return &scanner{maxDigits: 3}, true
	case patternGPT2:
		return &scanner{gpt2: true}, true
	}
	return nil, false
}

// Character classes of the patterns.
const (
	clsOther   = iota // [^\s\p{L}\p{N}]
	clsLetter         // \p{L}
	clsNumber         // \p{N}
	clsSpace          // \s other than \r and \n
	clsNewline        // \r or \n
)

var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		r := rune(c)
		switch {
		case r == '\r' || r == '\n':
			asciiClass[c] = clsNewline
		case unicode.IsSpace(r):
			asciiClass[c] = clsSpace
		case unicode.IsLetter(r):
			asciiClass[c] = clsLetter
		case unicode.IsNumber(r):
			asciiClass[c] = clsNumber
		default:
			asciiClass[c] = clsOther
		}
	}
}

// classAt decodes the rune at s[i:] and returns its class and width.
// Invalid UTF-8 bytes are one-byte runes of class clsOther.
func classAt(s string, i int) (cls uint8, r rune, w int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], rune(c), 1
	}
	r, w = utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return clsLetter, r, w
	case unicode.IsNumber(r):
		return clsNumber, r, w
	case unicode.IsSpace(r):
		return clsSpace, r, w
	}
	return clsOther, r, w
}

// split calls emit for each piece of s, in order; the pieces cover s.
func (sc *scanner) split(s string, emit func(string)) {
	for i := 0; i < len(s); {
		j := sc.next(s, i)
		emit(s[i:j])
		i = j
	}
}

// next returns the end of the match that starts at s[i] (i < len(s)).
func (sc *scanner) next(s string, i int) int {
	c0, r0, w0 := classAt(s, i)

	// Contractions: 's 't 're 've 'm 'll 'd.
	if r0 == '\'' && i+1 < len(s) {
		if j := sc.contraction(s, i+1); j > 0 {
			return j
		}
	}

	var c1 uint8 = 255 // class of the next rune; 255 at the end
	if i+w0 < len(s) {
		c1, _, _ = classAt(s, i+w0)
	}

	if sc.gpt2 {
		// ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`
		start := i
		cls := c0
		if r0 == ' ' && (c1 == clsLetter || c1 == clsNumber || c1 == clsOther) {
			start, cls = i+w0, c1
		}
		switch cls {
		case clsLetter, clsNumber, clsOther:
			return spanClass(s, start, cls)
		}
		return sc.whitespace(s, i)
	}

	// `[^\r\n\p{L}\p{N}]?\p{L}+`
	if (c0 == clsOther || c0 == clsSpace) && c1 == clsLetter {
		return spanClass(s, i+w0, clsLetter)
	}
	if c0 == clsLetter {
		return spanClass(s, i, clsLetter)
	}
	// `\p{N}{1,n}`
	if c0 == clsNumber {
		j := i + w0
		for n := 1; n < sc.maxDigits && j < len(s); n++ {
			c, _, w := classAt(s, j)
			if c != clsNumber {
				break
			}
			j += w
		}
		return j
	}
	// ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	if c0 == clsOther || (r0 == ' ' && c1 == clsOther) {
		start := i
		if c0 != clsOther {
			start = i + w0
		}
		j := spanClass(s, start, clsOther)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// `\s*[\r\n]+`: the whitespace run up to and including its last newline.
	end := spanSpace(s, i)
	for k := end - 1; k >= i; k-- {
		if s[k] == '\r' || s[k] == '\n' {
			return k + 1
		}
	}
	return sc.whitespace(s, i)
}

// whitespace matches `\s+(?!\S)|\s+` at s[i], which is whitespace.
func (sc *scanner) whitespace(s string, i int) int {
	end := spanSpace(s, i)
	if end == len(s) {
		return end
	}
	// Give back the last whitespace rune so that it can lead the next word.
	_, w := utf8.DecodeLastRuneInString(s[i:end])
	if end-w > i {
		return end - w
	}
	return end
}

// contraction matches the letters of a contraction at s[j] (after the
// apostrophe) and returns the end of the match, or 0.
func (sc *scanner) contraction(s string, j int) int {
	r1, w1 := utf8.DecodeRuneInString(s[j:])
	r1 = sc.fold(r1)
	switch r1 {
	case 's', 't', 'm', 'd':
		return j + w1
	case 'r', 'v', 'l':
		if j+w1 >= len(s) {
			return 0
		}
		r2, w2 := utf8.DecodeRuneInString(s[j+w1:])
		r2 = sc.fold(r2)
		if (r1 == 'r' || r1 == 'v') && r2 == 'e' || r1 == 'l' && r2 == 'l' {
			return j + w1 + w2
		}
	}
	return 0
}

// fold applies the case folding of `(?i:...)` for the contraction letters.
// Oniguruma folds U+017F LATIN SMALL LETTER LONG S to 's'.
func (sc *scanner) fold(r rune) rune {
	if sc.gpt2 {
		return r
	}
	if r >= 'A' && r <= 'Z' {
		return r + ('a' - 'A')
	}
	if r == 'ſ' {
		return 's'
	}
	return r
}

// spanClass returns the end of the run of runes of class cls from s[i].
func spanClass(s string, i int, cls uint8) int {
	for i < len(s) {
		c, _, w := classAt(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

// spanSpace returns the end of the whitespace run (\s, newlines included)
// from s[i].
func spanSpace(s string, i int) int {
	for i < len(s) {
		c, _, w := classAt(s, i)
		if c != clsSpace && c != clsNewline {
			break
		}
		i += w
	}
	return i
}
