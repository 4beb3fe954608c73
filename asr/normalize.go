package asr

import (
	_ "embed"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalizer maps a transcript to the text that WER compares; Corpus splits its output on
// whitespace. Report which one a WER figure used: the numbers are not comparable across
// normalizers.
type Normalizer interface {
	Normalize(s string) string
}

// NormalizerFunc adapts a function to Normalizer.
type NormalizerFunc func(string) string

// Normalize calls f.
func (f NormalizerFunc) Normalize(s string) string { return f(s) }

// BasicNormalizer lowercases, replaces every run of characters other than a-z and the
// apostrophe with a space (digits and non-ASCII letters included) and collapses whitespace:
// the norm_words of tools/train/speech/eval.py, which the demo-speech WER figures use.
type BasicNormalizer struct{}

// Normalize returns the words of s joined by single spaces.
func (BasicNormalizer) Normalize(s string) string {
	words := strings.FieldsFunc(pyLower(s), func(r rune) bool { return (r < 'a' || r > 'z') && r != '\'' })
	return strings.Join(words, " ")
}

// EnglishNormalizer is Whisper's EnglishTextNormalizer (openai-whisper
// whisper/normalizers/english.py, MIT; see english_spelling.json.LICENSE), the usual
// normalizer of published English WER: it lowercases; drops [bracketed], <tagged> and
// (parenthesized) spans and the fillers hmm, mm, mhm, mmm, uh, um; expands contractions
// and titles (won't → will not, 's → is, dr → doctor); strips symbols and diacritics;
// writes spelled-out numbers as digits ("three hundred and twelve" → 312, "twenty first" →
// 21st, "twenty dollars" → $20, "ninety percent" → 90%); applies British → American
// spellings; and collapses whitespace. Its output matches the Python one string for string,
// quirks included (it is not trimmed, "1.5" becomes "one.5", "ninth" stays a word): golden
// test in normalize_test.go. The zero value is ready to use and safe for concurrent use.
type EnglishNormalizer struct{}

// Normalize returns the normalized text.
func (EnglishNormalizer) Normalize(s string) string {
	s = pyLower(s)
	s = removeBracketed(s)
	s = removeParenthesized(s)
	s = removeFillers(s)
	s = joinSpaceApostrophe(s)
	for _, r := range contractions {
		s = r.replace(s)
	}
	s = removeDigitCommas(s)
	s = removePeriods(s)
	s = removeSymbolsAndDiacritics(s, ".%$¢€£")
	s = normalizeNumbers(s)
	s = americanSpellings(s)
	s = dropLooseNumericSymbols(s)
	return collapseSpaces(s)
}

// collapseSpaces replaces each whitespace run with one space (not trimmed, as in Python).
func collapseSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if pyIsSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// ---------------------------------------------------------------- character classes

// pyIsSpace is Python's str.isspace (and re's \s): Unicode White_Space plus the ASCII
// separators U+001C..U+001F.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// pyIsWord is re's \w for str patterns: letters, numbers and the underscore.
func pyIsWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// pyLower is Python's str.lower: Go's simple lowercase plus the two context rules Python
// applies (İ → i + combining dot; Σ → ς at the end of a word).
func pyLower(s string) string {
	ascii := true
	for i := range len(s) {
		if c := s[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is Unicode's Final_Sigma context, as CPython tests it: a cased letter before
// (skipping case-ignorable ones) and none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '·', '\u0387', '\u055f', '\u05f4', '\u2018', '\u2019', '\u2024', '\u2027',
		'\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// digitValue is the value of a Unicode decimal digit (category Nd), or -1. Nd digits come
// in complete runs 0..9, so the offset in a table range gives the value.
func digitValue(r rune) int {
	if isASCIIDigit(r) {
		return int(r - '0')
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) && rg.Stride == 1 {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) && rg.Stride == 1 {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	return -1
}

// ---------------------------------------------------------------- text passes

// removeBracketed drops <...> and [...] spans, a span ending at the first > or ].
func removeBracketed(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '<' || c == '[' {
			j := strings.IndexAny(s[i+1:], ">]")
			if j < 0 { // no closer: no later opener has one either
				b.WriteString(s[i:])
				break
			}
			i += j + 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeParenthesized drops (...) spans holding at least one character.
func removeParenthesized(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '(' && i+1 < len(s) && s[i+1] != ')' {
			j := strings.IndexByte(s[i+1:], ')')
			if j < 0 {
				b.WriteString(s[i:])
				break
			}
			i += j + 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mapWords rewrites each maximal run of word characters (re's \w+) with f, keeping the
// rest of s as it is.
func mapWords(s string, f func(word string) string) string {
	var b strings.Builder
	start := -1
	for i, r := range s {
		if pyIsWord(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			b.WriteString(f(s[start:i]))
			start = -1
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		b.WriteString(f(s[start:]))
	}
	return b.String()
}

var fillers = map[string]bool{"hmm": true, "mm": true, "mhm": true, "mmm": true, "uh": true, "um": true}

// removeFillers deletes the words hmm, mm, mhm, mmm, uh and um.
func removeFillers(s string) string {
	return mapWords(s, func(w string) string {
		if fillers[w] {
			return ""
		}
		return w
	})
}

// joinSpaceApostrophe deletes whitespace before an apostrophe ("it 's" → "it's").
func joinSpaceApostrophe(s string) string {
	rs := []rune(s)
	out := rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if pyIsSpace(rs[i]) {
			j := i
			for j < len(rs) && pyIsSpace(rs[j]) {
				j++
			}
			if j < len(rs) && rs[j] == '\'' {
				i = j - 1
				continue
			}
			out = append(out, rs[i:j]...)
			i = j - 1
			continue
		}
		out = append(out, rs[i])
	}
	return string(out)
}

// replacer rewrites a literal that must end before a non-word character and, with
// wholeWord, start after one (re's \b at those ends).
type replacer struct {
	from, to  string
	wholeWord bool
}

func (r replacer) replace(s string) string {
	if !strings.Contains(s, r.from) {
		return s
	}
	var b strings.Builder
	written, search := 0, 0
	for {
		k := strings.Index(s[search:], r.from)
		if k < 0 {
			break
		}
		k += search
		end := k + len(r.from)
		ok := end == len(s) || !pyIsWord(firstRune(s[end:]))
		if r.wholeWord && k > 0 && pyIsWord(lastRune(s[:k])) {
			ok = false
		}
		if !ok {
			search = k + 1
			continue
		}
		b.WriteString(s[written:k])
		b.WriteString(r.to)
		written, search = end, end
	}
	b.WriteString(s[written:])
	return b.String()
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// contractions are applied in this order, each over the whole text, as whisper does.
var contractions = func() []replacer {
	word := func(from, to string) replacer { return replacer{from, to, true} }
	tail := func(from, to string) replacer { return replacer{from, to, false} }
	return []replacer{
		// common contractions
		word("won't", "will not"), word("can't", "can not"), word("let's", "let us"),
		word("ain't", "aint"), word("y'all", "you all"), word("wanna", "want to"),
		word("gotta", "got to"), word("gonna", "going to"), word("i'ma", "i am going to"),
		word("imma", "i am going to"), word("woulda", "would have"), word("coulda", "could have"),
		word("shoulda", "should have"), word("ma'am", "madam"),
		// titles and prefixes
		word("mr", "mister "), word("mrs", "missus "), word("st", "saint "), word("dr", "doctor "),
		word("prof", "professor "), word("capt", "captain "), word("gov", "governor "),
		word("ald", "alderman "), word("gen", "general "), word("sen", "senator "),
		word("rep", "representative "), word("pres", "president "), word("rev", "reverend "),
		word("hon", "honorable "), word("asst", "assistant "), word("assoc", "associate "),
		word("lt", "lieutenant "), word("col", "colonel "), word("jr", "junior "),
		word("sr", "senior "), word("esq", "esquire "),
		// perfect tenses
		tail("'d been", " had been"), tail("'s been", " has been"), tail("'d gone", " had gone"),
		tail("'s gone", " has gone"), tail("'d done", " had done"), tail("'s got", " has got"),
		// general contractions
		tail("n't", " not"), tail("'re", " are"), tail("'s", " is"), tail("'d", " would"),
		tail("'ll", " will"), tail("'t", " not"), tail("'ve", " have"), tail("'m", " am"),
	}
}()

// removeDigitCommas joins digit,digit ("1,000" → "1000"); matches do not overlap, so
// "1,2,3" → "12,3" as in Python.
func removeDigitCommas(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	rs := []rune(s)
	out := rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if i+2 < len(rs) && unicode.IsDigit(rs[i]) && rs[i+1] == ',' && unicode.IsDigit(rs[i+2]) {
			out = append(out, rs[i], rs[i+2])
			i += 2
			continue
		}
		out = append(out, rs[i])
	}
	return string(out)
}

// removePeriods turns a period not followed by an ASCII digit into a space; the character
// after it is consumed with it, so in ".." only the first one goes.
func removePeriods(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	rs := []rune(s)
	out := rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if rs[i] == '.' && (i+1 == len(rs) || !isASCIIDigit(rs[i+1])) {
			out = append(out, ' ')
			if i+1 < len(rs) {
				out = append(out, rs[i+1])
				i++
			}
			continue
		}
		out = append(out, rs[i])
	}
	return string(out)
}

// additionalDiacritics are letters NFKD does not decompose.
var additionalDiacritics = map[rune]string{
	'œ': "oe", 'Œ': "OE", 'ø': "o", 'Ø': "O", 'æ': "ae", 'Æ': "AE", 'ß': "ss", 'ẞ': "SS",
	'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "th", 'ł': "l", 'Ł': "L",
}

// removeSymbolsAndDiacritics decomposes s (NFKD), drops nonspacing marks, spells the
// letters in additionalDiacritics, and turns other marks, symbols and punctuation into
// spaces, except the runes in keep.
func removeSymbolsAndDiacritics(s, keep string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case strings.ContainsRune(keep, r):
			b.WriteRune(r)
		case additionalDiacritics[r] != "":
			b.WriteString(additionalDiacritics[r])
		case unicode.Is(unicode.Mn, r):
		case unicode.IsMark(r) || unicode.IsSymbol(r) || unicode.IsPunct(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	//go:embed english_spelling.json
	englishSpellingJSON []byte

	// englishSpelling maps British spellings to American ones (whisper's english.json).
	englishSpelling = sync.OnceValue(func() map[string]string {
		m := map[string]string{}
		if err := json.Unmarshal(englishSpellingJSON, &m); err != nil {
			panic("asr: embedded english_spelling.json: " + err.Error())
		}
		return m
	})
)

// americanSpellings maps each whitespace-separated word through englishSpelling.
func americanSpellings(s string) string {
	words := strings.FieldsFunc(s, pyIsSpace)
	m := englishSpelling()
	for i, w := range words {
		if to, ok := m[w]; ok {
			words[i] = to
		}
	}
	return strings.Join(words, " ")
}

func isCurrency(r rune) bool { return r == '$' || r == '¢' || r == '€' || r == '£' }

// dropLooseNumericSymbols turns . $ ¢ € £ not followed by a digit, and % not preceded by
// one, into spaces. As in Python the matches consume the neighbouring character, so of
// "$$5" only the first sign goes.
func dropLooseNumericSymbols(s string) string {
	rs := []rune(s)
	out := rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if (rs[i] == '.' || isCurrency(rs[i])) && i+1 < len(rs) && !isASCIIDigit(rs[i+1]) {
			out = append(out, ' ', rs[i+1])
			i++
			continue
		}
		out = append(out, rs[i])
	}
	rs, out = out, rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if !isASCIIDigit(rs[i]) && i+1 < len(rs) && rs[i+1] == '%' {
			out = append(out, rs[i], ' ')
			i++
			continue
		}
		out = append(out, rs[i])
	}
	return string(out)
}

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

// numberWriter turns a word sequence into words with numbers in digits: whisper's
// process_words, a left-to-right state machine over (previous, current, next) words.
type numberWriter struct {
	prev, cur, next string // "" stands for Python's None at the ends
	hasNext         bool
	prefix          string // pending sign or currency, "" for none
	value           numValue
	skipNext        bool
	out             []string
}

// numbersToDigits returns words with spelled-out numbers written in digits.
func numbersToDigits(words []string) []string {
	w := &numberWriter{out: make([]string, 0, len(words))}
	for i, cur := range words {
		if w.skipNext {
			w.skipNext = false
			continue
		}
		w.prev, w.cur, w.next, w.hasNext = "", cur, "", i+1 < len(words)
		if i > 0 {
			w.prev = words[i-1]
		}
		if w.hasNext {
			w.next = words[i+1]
		}
		w.step()
	}
	w.flush()
	return w.out
}

// emit outputs s with the pending prefix and clears the value and prefix (Python's output).
func (w *numberWriter) emit(s string) {
	w.out = append(w.out, w.prefix+s)
	w.value, w.prefix = numValue{}, ""
}

// flush emits the value being read, if any.
func (w *numberWriter) flush() {
	if w.value.set {
		w.emit(w.value.String())
	}
}

func (w *numberWriter) nextIsNumeric() bool { return w.hasNext && isArabicNumber(w.next) }
func (w *numberWriter) nextIsWord() bool {
	_, ok := numberWords[w.next]
	return w.hasNext && ok
}

// appendOnes is "value so far, then digits": the value's string with digits added,
// except that after a tens word a single digit replaces its trailing zero.
func (w *numberWriter) appendOnes(ones int) string {
	if wordIs(w.prev, kTen) && ones < 10 {
		s := w.value.String()
		return s[:len(s)-1] + strconv.Itoa(ones)
	}
	return w.value.String() + strconv.Itoa(ones)
}

func (w *numberWriter) step() {
	cur := w.cur
	first := firstRune(cur)
	bare := cur
	hasPrefix := isPrefixRune(first)
	if hasPrefix {
		bare = cur[len(string(first)):]
	}
	if isArabicNumber(bare) {
		f, _ := parseFraction(bare)
		if w.value.set {
			if w.value.isStr && strings.HasSuffix(w.value.s, ".") {
				w.value = strValue(w.value.s + cur) // decimals or an IP address
				return
			}
			w.flush()
		}
		if hasPrefix {
			w.prefix = string(first)
		}
		if f.IsInt() {
			w.value = intValue(new(big.Int).Set(f.Num()))
		} else {
			w.value = strValue(bare)
		}
		return
	}
	nw, ok := numberWords[cur]
	if !ok {
		w.flush()
		w.emit(cur)
		return
	}
	v := w.value
	switch nw.kind {
	case kZero:
		s := ""
		if v.truthy() {
			s = v.String()
		}
		w.value = strValue(s + "0")

	case kOne:
		ones := nw.value
		switch {
		case !v.set:
			w.value = intValue(big.NewInt(int64(ones)))
		case v.isStr || wordIs(w.prev, kOne):
			w.value = strValue(w.appendOnes(ones))
		case ones < 10 && mod(v.n, 10) == 0, ones >= 10 && mod(v.n, 100) == 0:
			w.value = intValue(new(big.Int).Add(v.n, big.NewInt(int64(ones))))
		default:
			w.value = strValue(v.String() + strconv.Itoa(ones))
		}

	case kOneSuffixed:
		ones := nw.value
		switch {
		case !v.set:
			w.emit(strconv.Itoa(ones) + nw.suffix)
		case v.isStr || wordIs(w.prev, kOne):
			w.emit(w.appendOnes(ones) + nw.suffix)
		case ones < 10 && mod(v.n, 10) == 0, ones >= 10 && mod(v.n, 100) == 0:
			w.emit(new(big.Int).Add(v.n, big.NewInt(int64(ones))).String() + nw.suffix)
		default:
			w.emit(v.String() + strconv.Itoa(ones) + nw.suffix)
		}
		w.value = numValue{}

	case kTen:
		tens := nw.value
		switch {
		case !v.set:
			w.value = intValue(big.NewInt(int64(tens)))
		case !v.isStr && mod(v.n, 100) == 0:
			w.value = intValue(new(big.Int).Add(v.n, big.NewInt(int64(tens))))
		default:
			w.value = strValue(v.String() + strconv.Itoa(tens))
		}

	case kTenSuffixed:
		tens := nw.value
		switch {
		case !v.set:
			w.emit(strconv.Itoa(tens) + nw.suffix)
		case !v.isStr && mod(v.n, 100) == 0:
			w.emit(new(big.Int).Add(v.n, big.NewInt(int64(tens))).String() + nw.suffix)
		default:
			w.emit(v.String() + strconv.Itoa(tens) + nw.suffix)
		}

	case kMultiplier:
		mult := pow10(nw.value)
		switch {
		case !v.set:
			w.value = intValue(mult)
		case v.isStr || v.n.Sign() == 0:
			if p, ok := w.scaled(mult); ok {
				w.value = intValue(p)
			} else {
				w.flush()
				w.value = intValue(mult)
			}
		default:
			w.value = intValue(scaleThousands(v.n, mult))
		}

	case kMultiplierSuffixed:
		mult := pow10(nw.value)
		switch {
		case !v.set:
			w.emit(mult.String() + nw.suffix)
		case v.isStr:
			if p, ok := w.scaled(mult); ok {
				w.emit(p.String() + nw.suffix)
			} else {
				w.flush()
				w.emit(mult.String() + nw.suffix)
			}
		default:
			w.value = intValue(scaleThousands(v.n, mult))
			w.emit(w.value.String() + nw.suffix)
		}
		w.value = numValue{}

	case kPrecedingPrefix:
		w.flush()
		if w.nextIsWord() || w.nextIsNumeric() {
			w.prefix = nw.suffix
		} else {
			w.emit(cur)
		}

	case kFollowingPrefix:
		if v.set {
			w.prefix = nw.suffix
			w.flush()
		} else {
			w.emit(cur)
		}

	case kSuffixer:
		switch {
		case !v.set:
			w.emit(cur)
		case nw.suffix != "": // percent
			w.emit(v.String() + nw.suffix)
		case w.hasNext && w.next == "cent": // per cent
			w.emit(v.String() + "%")
			w.skipNext = true
		default:
			w.flush()
			w.emit(cur)
		}

	case kSpecial:
		switch {
		case !w.nextIsWord() && !w.nextIsNumeric():
			w.flush()
			w.emit(cur)
		case cur == "and":
			if !wordIs(w.prev, kMultiplier) { // "hundred and twelve" reads on
				w.flush()
				w.emit(cur)
			}
		case cur == "double" || cur == "triple":
			if wordIs(w.next, kOne, kZero) {
				repeats := 2
				if cur == "triple" {
					repeats = 3
				}
				ones := 0
				if nw, ok := numberWords[w.next]; ok && nw.kind == kOne {
					ones = nw.value
				}
				s := ""
				if v.truthy() {
					s = v.String()
				}
				w.value = strValue(s + strings.Repeat(strconv.Itoa(ones), repeats))
				w.skipNext = true
			} else {
				w.flush()
				w.emit(cur)
			}
		case cur == "point":
			if isDecimalWord(w.next) || w.nextIsNumeric() {
				s := ""
				if v.truthy() {
					s = v.String()
				}
				w.value = strValue(s + ".")
			}
		}
	}
}

// scaled is the value (a digit string, or 0) times mult when that is an integer.
func (w *numberWriter) scaled(mult *big.Int) (*big.Int, bool) {
	var f *big.Rat
	if w.value.isStr {
		var ok bool
		if f, ok = parseFraction(w.value.s); !ok {
			return nil, false
		}
	} else {
		f = new(big.Rat).SetInt(w.value.n)
	}
	p := new(big.Rat).Mul(f, new(big.Rat).SetInt(mult))
	if !p.IsInt() {
		return nil, false
	}
	return new(big.Int).Set(p.Num()), true
}

// scaleThousands multiplies the part of n below 1000 by mult: "two thousand three
// hundred" = 2000 + 3*100.
func scaleThousands(n, mult *big.Int) *big.Int {
	thousand := big.NewInt(1000)
	before := new(big.Int).Mul(new(big.Int).Div(n, thousand), thousand)
	residual := new(big.Int).Mod(n, thousand)
	return before.Add(before, residual.Mul(residual, mult))
}

// halvesToDecimals rewrites "<number> and a half" as "<number> point five".
func halvesToDecimals(s string) string {
	// Split on \band\s+a\s+half\b.
	var segments []string
	rest := s
	for {
		k := findAndAHalf(rest)
		if k.start < 0 {
			segments = append(segments, rest)
			break
		}
		segments = append(segments, rest[:k.start])
		rest = rest[k.end:]
	}
	var results []string
	for i, seg := range segments {
		if strings.TrimFunc(seg, pyIsSpace) == "" {
			continue
		}
		results = append(results, seg)
		if i == len(segments)-1 {
			break
		}
		f := strings.FieldsFunc(seg, pyIsSpace)
		if last := f[len(f)-1]; isDecimalWord(last) || wordIs(last, kMultiplier) {
			results = append(results, "point five")
		} else {
			results = append(results, "and a half")
		}
	}
	return strings.Join(results, " ")
}

type span struct{ start, end int }

// findAndAHalf finds the first \band\s+a\s+half\b in s.
func findAndAHalf(s string) span {
	for search := 0; ; {
		k := strings.Index(s[search:], "and")
		if k < 0 {
			return span{-1, -1}
		}
		k += search
		search = k + 1
		if k > 0 && pyIsWord(lastRune(s[:k])) {
			continue
		}
		i := k + 3
		if i = skipSpace(s, i, 1); i < 0 || !strings.HasPrefix(s[i:], "a") {
			continue
		}
		if i = skipSpace(s, i+1, 1); i < 0 || !strings.HasPrefix(s[i:], "half") {
			continue
		}
		end := i + 4
		if end < len(s) && pyIsWord(firstRune(s[end:])) {
			continue
		}
		return span{k, end}
	}
}

// skipSpace returns the index after at least min whitespace runes from i, or -1.
func skipSpace(s string, i, min int) int {
	n := 0
	for i < len(s) {
		r := firstRune(s[i:])
		if !pyIsSpace(r) {
			break
		}
		i += len(string(r))
		n++
	}
	if n < min {
		return -1
	}
	return i
}

// spaceDigitsFromLetters puts a space between an ASCII letter and a digit ("10km" → "10
// km"), then joins ordinal and plural suffixes back ("3 rd" → "3rd").
func spaceDigitsFromLetters(s string) string {
	rs := []rune(s)
	out := make([]rune, 0, len(rs)+8)
	for i, r := range rs {
		if i > 0 {
			p := rs[i-1]
			if (p >= 'a' && p <= 'z' && isASCIIDigit(r)) || (isASCIIDigit(p) && r >= 'a' && r <= 'z') {
				out = append(out, ' ')
			}
		}
		out = append(out, r)
	}
	rs, out = out, out[:0:0]
	for i := 0; i < len(rs); i++ {
		out = append(out, rs[i])
		if !isASCIIDigit(rs[i]) || i+1 >= len(rs) || !pyIsSpace(rs[i+1]) {
			continue
		}
		j := i + 1
		for j < len(rs) && pyIsSpace(rs[j]) {
			j++
		}
		k := j
		for k < len(rs) && pyIsWord(rs[k]) {
			k++
		}
		switch string(rs[j:k]) {
		case "st", "nd", "rd", "th", "s":
			out = append(out, rs[j:k]...)
			i = k - 1
		}
	}
	return string(out)
}

// combineCents writes "$2 and ¢7" as "$2.07" and "$0.07" as "¢7".
func combineCents(s string) string {
	if !strings.ContainsAny(s, "$€£") {
		return s
	}
	rs := []rune(s)
	// twoDigits reports the end of a run of 1 or 2 ASCII digits at i followed by a
	// non-word character, or -1.
	twoDigits := func(i int) int {
		j := i
		for j < len(rs) && isASCIIDigit(rs[j]) {
			j++
		}
		if j == i || j-i > 2 || (j < len(rs) && pyIsWord(rs[j])) {
			return -1
		}
		return j
	}
	cents := func(digits []rune) string { // int(...) of one or two digits
		n := 0
		for _, d := range digits {
			n = 10*n + int(d-'0')
		}
		return strconv.Itoa(n)
	}
	isSign := func(r rune) bool { return r == '$' || r == '€' || r == '£' }

	// ([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b → sign integer . cents
	out := rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if isSign(rs[i]) {
			j := i + 1
			for j < len(rs) && isASCIIDigit(rs[j]) {
				j++
			}
			if j > i+1 && j < len(rs) && rs[j] == ' ' {
				k := j + 1
				if strings.HasPrefix(string(rs[k:min(k+5, len(rs))]), "and ¢") {
					k += 4
				}
				if k < len(rs) && rs[k] == '¢' {
					if end := twoDigits(k + 1); end > 0 {
						c := cents(rs[k+1 : end])
						if len(c) == 1 {
							c = "0" + c
						}
						out = append(out, rs[i:j]...)
						out = append(out, '.')
						out = append(out, []rune(c)...)
						i = end - 1
						continue
					}
				}
			}
		}
		out = append(out, rs[i])
	}

	// [€£$]0.([0-9]{1,2})\b → ¢cents (the "." is re's any character but newline)
	rs, out = out, rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if isSign(rs[i]) && i+3 < len(rs) && rs[i+1] == '0' && rs[i+2] != '\n' {
			if end := twoDigits(i + 3); end > 0 {
				out = append(out, '¢')
				out = append(out, []rune(cents(rs[i+3:end]))...)
				i = end - 1
				continue
			}
		}
		out = append(out, rs[i])
	}
	return string(out)
}

// oneForDigitOne writes a standalone "1" or "1s" as "one" or "ones", for readability
// (whisper does so after converting numbers, so "1.5" reads "one.5").
func oneForDigitOne(s string) string {
	if !strings.Contains(s, "1") {
		return s
	}
	rs := []rune(s)
	out := rs[:0:0]
	for i := 0; i < len(rs); i++ {
		if rs[i] == '1' && (i == 0 || !pyIsWord(rs[i-1])) {
			if i+1 < len(rs) && rs[i+1] == 's' && (i+2 == len(rs) || !pyIsWord(rs[i+2])) {
				out = append(out, []rune("ones")...)
				i++
				continue
			}
			if i+1 == len(rs) || !pyIsWord(rs[i+1]) {
				out = append(out, []rune("one")...)
				continue
			}
		}
		out = append(out, rs[i])
	}
	return string(out)
}
