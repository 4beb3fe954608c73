package vision

import (
	"strings"
	"unicode"
)

// TokenizeCaption splits a caption into the tokens that the COCO caption metrics
// count, the way pycocoevalcap's PTBTokenizer does: Stanford CoreNLP 3.4.1's
// PTBTokenizer with -preserveLines -lowerCase, then these punctuation tokens
// dropped:
//
//	'' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;
//
// What it reproduces, checked against the Java tokenizer
// (testdata/golden/vision/metrics.json):
//   - words: letters and digits, joined across '.', '!' or '?' before a letter
//     (park.the, hello!world), single '-' or '_' (x-ray, 10-year-old), up to two
//     '/' (and/or, 1/2/3); a hyphenated word's first part may hold '.' and ','
//     (3.5-inch, 1,000-year); numbers with '.', ',' or ':' inside (3:30) or a
//     leading sign or point (-5, .5); o'clock, d'angelo, ma'am, ne'er, AT&T, US$
//   - clitics split off ('s 'm 'd 're 've 'll, and n't: is n't, ca n't); cannot,
//     gonna, gotta, wanna, lemme, gimme, 'tis and 'twas split in two; 'em, 'cause,
//     'til, 'till, 'n', '90s kept
//   - a period split off a word, but kept on acronyms (u.s.), single letters
//     (plan b.; split again before " The ", " He " and the other sentence starts
//     PTBLexer lists), a word right before , ; or : (dog.,), and the
//     abbreviations CoreNLP 3.4.1 knows (etc. mr. st. co. inc. jan. …, in the
//     cases it knows them in)
//   - ( ) [ ] { } as -lrb- -rrb- -lsb- -rsb- -lcb- -rcb-: PTBTokenizer lower-cases
//     them, so pycocoevalcap's upper-case names never match and they count as
//     words; quotes of every kind dropped; runs of two or more ? and ! kept (?!);
//     $ % & # and other symbols as tokens of their own (€ as $, £ as #);
//     characters outside the Basic Multilingual Plane (emoji) deleted
//   - Java's lower-casing (İ to i̇, a final Σ to ς)
//
// It does not reproduce PTBTokenizer's URLs, e-mail addresses, SGML tags and
// entities, smileys, fractions (½, 3 1/2), phone numbers, dates and other rare
// special words. Nor the dependence across captions: pycocoevalcap tokenizes
// all captions as one text, so a caption's last token can depend on the next
// caption (a final "b." before a caption starting "The "), and the first and
// last captions of the text differ in small ways (the last loses the apostrophe
// of a final 've, 're or 'll). TokenizeCaption tokenizes a caption as one in the
// middle of the text, followed by a caption that starts with a lower-case word.
func TokenizeCaption(s string) []string {
	lx := capLexer{rs: []rune(strings.ReplaceAll(s, "\n", " "))}
	var out []string
	for tok, ok := lx.next(); ok; tok, ok = lx.next() {
		tok = javaLower(tok)
		if tok != "" && !ptbPunctuation[tok] {
			out = append(out, tok)
		}
	}
	return out
}

// ptbPunctuation is pycocoevalcap's PUNCTUATIONS list (tokenizer/ptbtokenizer.py).
// The bracket names are upper case there but lower case in the tokenizer's
// output, so they are never removed; the list is kept verbatim all the same.
var ptbPunctuation = map[string]bool{
	"''": true, "'": true, "``": true, "`": true, "-LRB-": true, "-RRB-": true,
	"-LCB-": true, "-RCB-": true, ".": true, "?": true, "!": true, ",": true,
	":": true, "-": true, "--": true, "...": true, ";": true,
}

// capLexer is a hand-written subset of CoreNLP's PTBLexer: at each position the
// longest of its patterns wins, as in JFlex.
type capLexer struct {
	rs []rune
	i  int
}

// quote is returned for every quote character and dropped like PTB's quotes.
const quote = "``"

func (lx *capLexer) next() (string, bool) {
	for {
		if lx.i >= len(lx.rs) {
			return "", false
		}
		if t, ok := lx.scan(); ok {
			return t, true
		}
	}
}

// at returns the rune at i, or 0 past the end.
func (lx *capLexer) at(i int) rune {
	if i < 0 || i >= len(lx.rs) {
		return 0
	}
	return lx.rs[i]
}

// scan cuts the token at lx.i; ok is false when it only skipped input.
func (lx *capLexer) scan() (string, bool) {
	i, r := lx.i, lx.rs[lx.i]
	switch {
	case unicode.IsSpace(r):
		lx.i++
		return "", false
	case r > 0xFFFF: // untokenizable for PTBLexer 3.4.1: deleted
		lx.i++
		return "", false
	case isCapAlnum(r):
		return lx.word(), true
	}
	if n := lx.number(i); n > 0 { // -5 +1 .5 ,5 :30
		lx.i += n
		return string(lx.rs[i : i+n]), true
	}
	switch r {
	case '\'', '’':
		return lx.apostrophe(), true
	case '"', '`', '‘', '“', '”', '‛', '«', '»', '‹', '›':
		lx.i++
		if r == '`' && lx.at(lx.i) == '`' {
			lx.i++
		}
		return quote, true
	case '(':
		lx.i++
		return "-LRB-", true
	case ')':
		lx.i++
		return "-RRB-", true
	case '[':
		lx.i++
		return "-LSB-", true
	case ']':
		lx.i++
		return "-RSB-", true
	case '{':
		lx.i++
		return "-LCB-", true
	case '}':
		lx.i++
		return "-RCB-", true
	case '-':
		if tb := lx.bracketName(i); tb != "" {
			return tb, true
		}
		n := lx.run(i, func(r rune) bool { return r == '-' })
		lx.i += n
		if n == 1 {
			return "-", true
		}
		return "--", true
	case '–', '—':
		lx.i++
		return "--", true
	case '.':
		n := lx.run(i, func(r rune) bool { return r == '.' })
		if n >= 3 {
			lx.i += n
			return "...", true
		}
		lx.i++
		return ".", true
	case '…':
		lx.i++
		return "...", true
	case '?', '!':
		n := lx.run(i, func(r rune) bool { return r == '?' || r == '!' })
		lx.i += n
		return string(lx.rs[i : i+n]), true
	case '#', '@':
		if unicode.IsLetter(lx.at(i + 1)) { // #tag, @name
			j := i + 1
			for isCapAlnum(lx.at(j)) || lx.at(j) == '_' {
				j++
			}
			lx.i = j
			return string(lx.rs[i:j]), true
		}
	case '€':
		lx.i++
		return "$", true
	case '£':
		lx.i++
		return "#", true
	}
	if r == '*' || r == '_' || r == '#' || r == '@' { // runs are one token
		n := lx.run(i, func(c rune) bool { return c == r })
		lx.i += n
		return string(lx.rs[i : i+n]), true
	}
	lx.i++
	return string(r), true // , ; : $ % & / + = < > and other symbols
}

// run is the length of the run of runes from i that satisfy f.
func (lx *capLexer) run(i int, f func(rune) bool) int {
	j := i
	for j < len(lx.rs) && f(lx.rs[j]) {
		j++
	}
	return j - i
}

// bracketName matches PTB's own escapes written out (-LRB-, -rrb-, …) at i.
func (lx *capLexer) bracketName(i int) string {
	if i+5 > len(lx.rs) || lx.rs[i+4] != '-' {
		return ""
	}
	name := strings.ToUpper(string(lx.rs[i+1 : i+4]))
	switch name {
	case "LRB", "RRB", "LCB", "RCB", "LSB", "RSB":
		lx.i = i + 5
		return "-" + name + "-"
	}
	return ""
}

// number is the length of a signed or point-led number at i (-5, +1, .5, ,5,
// :30), or 0. Numbers that start with a digit are lexed as words.
func (lx *capLexer) number(i int) int {
	r := lx.at(i)
	if r != '-' && r != '+' && r != '.' && r != ',' && r != ':' {
		return 0
	}
	j := i + 1
	if (r == '-' || r == '+') && isNumPunct(lx.at(j)) && unicode.IsDigit(lx.at(j+1)) {
		j++ // -.5
	}
	if !unicode.IsDigit(lx.at(j)) {
		return 0
	}
	return j - i + lx.digits(j)
}

// digits is the length of D+ ([.,:] D+)* at i.
func (lx *capLexer) digits(i int) int {
	j := i
	for {
		for unicode.IsDigit(lx.at(j)) {
			j++
		}
		if isNumPunct(lx.at(j)) && unicode.IsDigit(lx.at(j+1)) {
			j++
			continue
		}
		return j - i
	}
}

// apostrophe lexes at an apostrophe: clitics ('s 've …), the kept forms ('em
// 'cause 'til 'till 'n' '90s), 'tis/'twas, or a quote.
func (lx *capLexer) apostrophe() string {
	i := lx.i
	if c := lx.clitic(i); c != "" {
		lx.i = i + len([]rune(c))
		return c
	}
	// 'n and 'n'
	if lx.fold(i+1, "n") && !unicode.IsLetter(lx.at(i+2)) {
		j := i + 2
		if isApos(lx.at(j)) {
			j++
		}
		lx.i = j
		return string(lx.rs[i:j])
	}
	for _, w := range []string{"em", "cause", "till", "til"} {
		if lx.fold(i+1, w) && !unicode.IsLetter(lx.at(i+1+len(w))) {
			lx.i = i + 1 + len(w)
			return string(lx.rs[i:lx.i])
		}
	}
	if d := lx.at(i + 1); d >= '2' && d <= '9' && lx.at(i+2) == '0' && lx.fold(i+3, "s") && !isCapAlnum(lx.at(i+4)) {
		lx.i = i + 4 // '90s
		return string(lx.rs[i:lx.i])
	}
	if unicode.IsDigit(lx.at(i+1)) && unicode.IsDigit(lx.at(i+2)) && (i+3 == len(lx.rs) || unicode.IsSpace(lx.rs[i+3])) {
		lx.i = i + 3 // '10 before a space
		return string(lx.rs[i:lx.i])
	}
	if lx.fold(i+1, "tis") || lx.fold(i+1, "twas") {
		lx.i = i + 2 // 't, then is / was
		return "'" + string(lx.rs[i+1])
	}
	lx.i++
	if lx.at(lx.i) == '\'' && lx.rs[i] == '\'' {
		lx.i++ // ''
	}
	return quote
}

// cliticLen is the length of an apostrophe and s, m, d, re, ve or ll at i,
// whatever follows, else 0: a word before one ends there (he|'s, cannot|'ve).
func (lx *capLexer) cliticLen(i int) int {
	if !isApos(lx.at(i)) {
		return 0
	}
	for _, c := range []string{"re", "ve", "ll", "s", "m", "d"} {
		if lx.fold(i+1, c) {
			return 1 + len(c)
		}
	}
	return 0
}

// clitic returns the clitic token at i ('s 'm 'd 're 've 'll, with a plain
// apostrophe), or "". PTBLexer needs a non-letter after it; for the two-letter
// ones the end of the text does not count, for the one-letter ones it does, but
// TokenizeCaption's text is taken to go on with a newline, a non-letter.
func (lx *capLexer) clitic(i int) string {
	n := lx.cliticLen(i)
	if n == 0 || unicode.IsLetter(lx.at(i+n)) {
		return ""
	}
	return "'" + string(lx.rs[i+1:i+n])
}

// fold reports whether the runes at i spell w (ASCII, any case).
func (lx *capLexer) fold(i int, w string) bool {
	if i+len(w) > len(lx.rs) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if unicode.ToLower(lx.rs[i+k]) != rune(w[k]) {
			return false
		}
	}
	return true
}

// word lexes at a letter or digit. Like JFlex it takes the longest of
// PTBLexer's patterns that match here, a pattern's trailing context (what must
// follow it) counting in its length, and the earlier pattern on a tie.
func (lx *capLexer) word() string {
	i := lx.i
	var best wordMatch
	try := func(n, end int) {
		if n > best.n {
			best = wordMatch{n, end}
		}
	}
	if lx.fold(i, "cannot") { // can not
		try(6, i+3)
	}
	for _, w := range []string{"gonna", "gotta", "wanna", "lemme", "gimme"} {
		if lx.fold(i, w) && !isCapAlnum(lx.at(i+5)) { // gon na
			try(6, i+3)
		}
	}
	if lx.fold(i, "n") && isApos(lx.at(i+1)) && lx.fold(i+2, "t") { // n't
		try(3, i+3)
	}
	if n := lx.notSplit(i); n > 0 { // is|n't, ca|n't
		try(n-i+3, n)
	}
	plain := []int{lx.wordLen(i), lx.thingLen(i), lx.hyphenThingLen(i)}
	for k, m := range plain {
		if m == 0 {
			continue
		}
		try(m, i+m)
		if c := lx.cliticLen(i + m); k == 0 && c > 0 { // he|'s
			try(m+c, i+m)
		}
		if p := lx.at(i + m + 1); lx.at(i+m) == '.' && (p == ',' || p == ';' || p == ':') {
			try(m+2, i+m+1) // dog. before , ; :
		}
	}
	try(lx.slashThingLen(i), i+lx.slashThingLen(i))
	if unicode.IsDigit(lx.rs[i]) {
		try(lx.digits(i), i+lx.digits(i))
	}
	try(lx.apoWordLen(i), i+lx.apoWordLen(i))
	if (lx.rs[i] == 'y' || lx.rs[i] == 'Y') && isApos(lx.at(i+1)) && isCapLetter(lx.at(i+2)) {
		try(2, i+2) // y' all
	}
	try(lx.ampLen(i), i+lx.ampLen(i))
	if n := lx.run(i, isUpperASCII); n > 0 && lx.at(i+n) == '$' {
		try(n+1, i+n+1) // US$
	}
	if n := lx.acroLen(i); n > 0 {
		if n == 2 && lx.sentenceFollows(i+2) {
			try(n, i+1) // plan b. The end: the period goes
		} else {
			try(n, i+n)
		}
	}
	if w := plain[0]; w > 0 && lx.at(i+w) == '.' {
		switch abbreviationKind(string(lx.rs[i : i+w])) {
		case abbrevAlways:
			try(w+1, i+w+1)
		case abbrevBeforeNumber:
			j := i + w + 1
			if unicode.IsSpace(lx.at(j)) {
				j++ // one space at most
			}
			if unicode.IsDigit(lx.at(j)) {
				try(w+1, i+w+1) // no. 5, no.5
			}
		}
	}
	lx.i = best.end
	tok := string(lx.rs[i:best.end])
	if best.end-i == 3 && lx.fold(i, "n") && isApos(lx.rs[i+1]) && lx.fold(i+2, "t") {
		return "n't" // n’t too
	}
	return tok
}

// wordMatch is a pattern's match: its length with trailing context, and where
// the token it cuts ends.
type wordMatch struct{ n, end int }

// wordLen is PTB's WORD at i: a letter, letters and digits, and more of those
// after a '.', '!' or '?' that a letter follows (hello!world, park.the).
func (lx *capLexer) wordLen(i int) int {
	if !isCapLetter(lx.at(i)) {
		return 0
	}
	j := i
	for {
		for isCapAlnum(lx.at(j)) {
			j++
		}
		if c := lx.at(j); (c == '.' || c == '!' || c == '?') && isCapLetter(lx.at(j+1)) {
			j++
			continue
		}
		return j - i
	}
}

// apoWordLen is a word with an apostrophe between vowels (ma'am, ne'er, e'er,
// do'The) or after one capital letter or n (A'rehe, n'tthey), else 0.
func (lx *capLexer) apoWordLen(i int) int {
	j := i + lx.run(i, isCapLetter)
	if j == i || !isApos(lx.at(j)) {
		return 0
	}
	after := lx.run(j+1, isCapLetter)
	if j-i == 1 && strings.ContainsRune("ABCDEFGHJKLMNOPQRSTUVWXZn", lx.rs[i]) && after >= 2 {
		return j + 1 + after - i
	}
	v, w := lx.rs[j-1], lx.at(j+1)
	if (j-i >= 2 || lx.fold(i, "e'er")) && isVowel(v, "aeiouy") && (isVowel(w, "aeiou") && w >= 'a' || isUpperASCII(w)) {
		return j + 1 + after - i
	}
	return 0
}

// thingLen is PTB's THING at i: letters and digits, optionally after d' o' or
// l' (o'clock), and more of those after a single '-' or '_' (x-ray, a_b).
func (lx *capLexer) thingLen(i int) int {
	j := i
	for {
		s := lx.segLen(j)
		if s == 0 {
			return max(0, j-1-i)
		}
		j += s
		if c := lx.at(j); c != '-' && c != '_' {
			return j - i
		}
		j++
	}
}

func (lx *capLexer) segLen(i int) int {
	j := i
	if strings.ContainsRune("dDoOlL", lx.at(j)) && isApos(lx.at(j+1)) && isCapAlnum(lx.at(j+2)) {
		j += 2 // o'clock
	}
	return j - i + lx.run(j, isCapAlnum)
}

// hyphenThingLen is a hyphenated word whose first part may hold '.' and ','
// (3.5-inch, 1,000-year, st..-the), each later part letters and digits or an
// acronym with its period (park...-p.m.), else 0.
func (lx *capLexer) hyphenThingLen(i int) int {
	j := i + lx.run(i, func(r rune) bool { return isCapAlnum(r) || r == '.' || r == ',' })
	end := 0
	for lx.at(j) == '-' {
		a := lx.run(j+1, isCapAlnum)
		if n := lx.acroLen(j + 1); n > a && n > 2 {
			a = n // -p.m.
		}
		if a == 0 {
			break
		}
		j += 1 + a
		end = j
	}
	if end == 0 {
		return 0
	}
	return end - i
}

// acroTail is the length of [A-Za-z](\.[A-Za-z])* at i.
func (lx *capLexer) acroTail(i int) int {
	j := i + 1
	for lx.at(j) == '.' && isASCIILetter(lx.at(j+1)) {
		j += 2
	}
	return j - i
}

// slashThingLen is one to three words joined by '/' (and/or, 1/2/3), each
// letters and digits with up to two '-' parts of letters, else 0.
func (lx *capLexer) slashThingLen(i int) int {
	part := func(j int) int {
		n := lx.run(j, isCapAlnum)
		if n == 0 {
			return 0
		}
		for k := 0; k < 2 && lx.at(j+n) == '-'; k++ {
			l := lx.run(j+n+1, isCapLetter)
			if l == 0 {
				break
			}
			n += 1 + l
		}
		return n
	}
	j := i + part(i)
	if j == i {
		return 0
	}
	slashes := 0
	for slashes < 2 && lx.at(j) == '/' {
		n := part(j + 1)
		if n == 0 {
			break
		}
		j += 1 + n
		slashes++
	}
	if slashes == 0 {
		return 0
	}
	return j - i
}

// notSplit returns where n't starts when ASCII letters at i end in a non-n
// letter followed by n't (isn't, can't: is, ca), else 0.
func (lx *capLexer) notSplit(i int) int {
	j := i + lx.run(i, isASCIILetter)
	n := j - 1 // the 'n'
	if n-i < 1 || !lx.fold(n, "n") || lx.fold(n-1, "n") || !isApos(lx.at(j)) || !lx.fold(j+1, "t") {
		return 0
	}
	return n
}

// ampLen is [A-Z]+&[A-Z]+ at i (AT&T, S&P), else 0.
func (lx *capLexer) ampLen(i int) int {
	j := i + lx.run(i, isUpperASCII)
	if j == i || lx.at(j) != '&' || !isUpperASCII(lx.at(j+1)) {
		return 0
	}
	j++
	return j + lx.run(j, isUpperASCII) - i
}

// acroLen is [A-Za-z](\.[A-Za-z])*\. at i (u.s., p.m., b.), else 0.
func (lx *capLexer) acroLen(i int) int {
	if !isASCIILetter(lx.at(i)) {
		return 0
	}
	n := lx.acroTail(i)
	switch {
	case lx.at(i+n) == '.':
		return n + 1
	case n > 1:
		return n - 1 // p.m.s: p.m.
	}
	return 0
}

// sentenceFollows reports whether spaces, one of the words PTBLexer takes to
// start a sentence after a one-letter acronym (capitalised or in capitals), and
// a space follow at i; the end of the text counts as a space.
func (lx *capLexer) sentenceFollows(i int) bool {
	j := i + lx.run(i, unicode.IsSpace)
	if j == i || !isUpperASCII(lx.at(j)) {
		return false
	}
	for _, w := range sentenceStarts {
		if lx.rs[j] == rune(w[0]) && lx.fold(j+1, strings.ToLower(w[1:])) {
			if e := j + len(w); e == len(lx.rs) || unicode.IsSpace(lx.rs[e]) {
				return true
			}
		}
	}
	return false
}
