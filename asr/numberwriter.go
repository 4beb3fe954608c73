package asr

import (
	"math/big"
	"strconv"
	"strings"
)

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
