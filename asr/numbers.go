package asr

import (
	"math/big"
	"strings"
	"unicode"
)

// ---------------------------------------------------------------- numbers

// normalizeNumbers is whisper's EnglishNumberNormalizer: spelled-out numbers to digits,
// then currency and "one(s)" clean-up. The result has single spaces between words.
func normalizeNumbers(s string) string {
	s = halvesToDecimals(s)
	s = spaceDigitsFromLetters(s)
	s = strings.Join(numbersToDigits(strings.FieldsFunc(s, pyIsSpace)), " ")
	s = combineCents(s)
	s = oneForDigitOne(s)
	return s
}

// number word tables
type numKind uint8

const (
	kZero numKind = iota + 1
	kOne
	kOneSuffixed
	kTen
	kTenSuffixed
	kMultiplier
	kMultiplierSuffixed
	kPrecedingPrefix // minus, plus: a sign before a number
	kFollowingPrefix // dollars, cents: a currency sign for the number before
	kSuffixer        // percent, per (cent)
	kSpecial         // and, double, triple, point
)

type numWord struct {
	kind   numKind
	value  int    // ones/tens value, or the power of ten of a multiplier
	suffix string // "s", "st", "th"... of suffixed words; the symbol of prefixes and suffixers
}

var numberWords = func() map[string]numWord {
	m := map[string]numWord{}
	for _, z := range []string{"o", "oh", "zero"} {
		m[z] = numWord{kind: kZero}
	}
	ones := []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	for i, name := range ones {
		v := i + 1
		m[name] = numWord{kind: kOne, value: v}
		plural := name + "s"
		if name == "six" {
			plural = "sixes"
		}
		m[plural] = numWord{kOneSuffixed, v, "s"}
		if v > 3 && v != 5 && v != 12 {
			// whisper's rule: "eight" → "eighth", "nine" → "nineth" (so "ninth" is no number)
			if strings.HasSuffix(name, "t") {
				m[name+"h"] = numWord{kOneSuffixed, v, "th"}
			} else {
				m[name+"th"] = numWord{kOneSuffixed, v, "th"}
			}
		}
	}
	for _, o := range []struct {
		name   string
		v      int
		suffix string
	}{{"zeroth", 0, "th"}, {"first", 1, "st"}, {"second", 2, "nd"}, {"third", 3, "rd"}, {"fifth", 5, "th"}, {"twelfth", 12, "th"}} {
		m[o.name] = numWord{kOneSuffixed, o.v, o.suffix}
	}
	for i, name := range []string{"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"} {
		v := 20 + 10*i
		m[name] = numWord{kind: kTen, value: v}
		m[strings.ReplaceAll(name, "y", "ies")] = numWord{kTenSuffixed, v, "s"}
		m[strings.ReplaceAll(name, "y", "ieth")] = numWord{kTenSuffixed, v, "th"}
	}
	for i, name := range []string{"hundred", "thousand", "million", "billion", "trillion", "quadrillion",
		"quintillion", "sextillion", "septillion", "octillion", "nonillion", "decillion"} {
		exp := 3 * i
		if i == 0 {
			exp = 2
		}
		m[name] = numWord{kind: kMultiplier, value: exp}
		m[name+"s"] = numWord{kMultiplierSuffixed, exp, "s"}
		m[name+"th"] = numWord{kMultiplierSuffixed, exp, "th"}
	}
	for name, sym := range map[string]string{"minus": "-", "negative": "-", "plus": "+", "positive": "+"} {
		m[name] = numWord{kind: kPrecedingPrefix, suffix: sym}
	}
	for name, sym := range map[string]string{"pound": "£", "pounds": "£", "euro": "€", "euros": "€",
		"dollar": "$", "dollars": "$", "cent": "¢", "cents": "¢"} {
		m[name] = numWord{kind: kFollowingPrefix, suffix: sym}
	}
	m["per"] = numWord{kind: kSuffixer} // "per cent" → %
	m["percent"] = numWord{kind: kSuffixer, suffix: "%"}
	for _, w := range []string{"and", "double", "triple", "point"} {
		m[w] = numWord{kind: kSpecial}
	}
	return m
}()

// isPrefixRune: a sign or currency that can start a numeric word ("$20").
func isPrefixRune(r rune) bool { return r == '-' || r == '+' || isCurrency(r) }

func wordIs(w string, kinds ...numKind) bool {
	nw, ok := numberWords[w]
	if !ok {
		return false
	}
	for _, k := range kinds {
		if nw.kind == k {
			return true
		}
	}
	return false
}

// isDecimalWord: a word that can follow "point" (ones, tens, zeros).
func isDecimalWord(w string) bool { return wordIs(w, kZero, kOne, kTen) }

// isArabicNumber is re.match(r"^\d+(\.\d+)?$"), \d being any Unicode decimal digit.
func isArabicNumber(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	allDigits := func(p string) bool {
		if p == "" {
			return false
		}
		for _, r := range p {
			if !unicode.IsDigit(r) {
				return false
			}
		}
		return true
	}
	return allDigits(intPart) && (!hasDot || allDigits(frac))
}

// parseFraction is Python's Fraction(s) for the strings this normalizer builds: digits
// (any Unicode Nd), optionally a period and more digits, with at least one digit.
func parseFraction(s string) (*big.Rat, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return nil, false
	}
	digits := func(p string) (*big.Int, bool) {
		n := new(big.Int)
		ten := big.NewInt(10)
		for _, r := range p {
			d := digitValue(r)
			if d < 0 {
				return nil, false
			}
			n.Mul(n, ten).Add(n, big.NewInt(int64(d)))
		}
		return n, true
	}
	num, ok1 := digits(intPart)
	dec, ok2 := digits(frac)
	if !ok1 || !ok2 {
		return nil, false
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len([]rune(frac)))), nil)
	num.Mul(num, scale).Add(num, dec)
	return new(big.Rat).SetFrac(num, scale), true
}

// numValue is the number being read: nothing yet, an integer, or a digit string (Python
// keeps both: a string for digit sequences like "one oh one" → "101", decimals and "5."
// awaiting its decimals).
type numValue struct {
	set   bool
	isStr bool
	n     *big.Int
	s     string
}

func (v numValue) String() string {
	if v.isStr {
		return v.s
	}
	return v.n.String()
}

// truthy is Python's truth value of the value: set, and not the integer 0.
func (v numValue) truthy() bool { return v.set && (v.isStr || v.n.Sign() != 0) }

func intValue(n *big.Int) numValue { return numValue{set: true, n: n} }
func strValue(s string) numValue   { return numValue{set: true, isStr: true, s: s} }

func pow10(e int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil) }

func mod(n *big.Int, m int64) int64 { return new(big.Int).Mod(n, big.NewInt(m)).Int64() }
