package asr

import (
	_ "embed"
	"encoding/json"
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
