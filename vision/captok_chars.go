package vision

import (
	"strings"
	"unicode"
)

// Character classes and Java's lower-casing, as PTBLexer sees them.

func isCapLetter(r rune) bool { return unicode.IsLetter(r) || unicode.IsMark(r) }
func isCapAlnum(r rune) bool  { return isCapLetter(r) || unicode.IsDigit(r) }
func isApos(r rune) bool      { return r == '\'' || r == '’' }
func isNumPunct(r rune) bool  { return r == '.' || r == ',' || r == ':' }
func isASCIILetter(r rune) bool {
	return isLowerASCII(r) || isUpperASCII(r)
}
func isLowerASCII(r rune) bool { return r >= 'a' && r <= 'z' }
func isUpperASCII(r rune) bool { return r >= 'A' && r <= 'Z' }
func isVowel(r rune, set string) bool {
	return r < 0x80 && strings.ContainsRune(set, unicode.ToLower(r))
}

// javaLower is Java's String.toLowerCase on one token: Go's mapping plus İ to
// i̇ and a final capital sigma to ς.
func javaLower(s string) string {
	if !strings.ContainsAny(s, "İΣ") {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	for k, r := range rs {
		switch {
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ' && k > 0 && unicode.IsLetter(rs[k-1]) && (k+1 == len(rs) || !unicode.IsLetter(rs[k+1])):
			b.WriteRune('ς')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
