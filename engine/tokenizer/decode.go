package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Decode turns ids back into text. With skipSpecial, added tokens marked
// special are left out. Unknown ids are ignored. Bytes that do not form
// valid UTF-8 become U+FFFD, one per maximal invalid subsequence, as HF
// (Rust's String::from_utf8_lossy) does.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	if !t.byteLevelDecoder {
		return t.decodeJoined(ids, skipSpecial)
	}
	n := 0
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.decoded) {
			n += len(t.decoded[id])
		}
	}
	buf := make([]byte, 0, n)
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.decoded) || t.idToToken[id] == "" {
			continue
		}
		if skipSpecial && t.special[id] {
			continue
		}
		buf = append(buf, t.decoded[id]...)
	}
	return lossyUTF8(buf)
}

// decodeJoined is HF's behaviour without a decoder: tokens joined by spaces.
func (t *Tokenizer) decodeJoined(ids []int32, skipSpecial bool) string {
	var toks []string
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.idToToken) || t.idToToken[id] == "" {
			continue
		}
		if skipSpecial && t.special[id] {
			continue
		}
		toks = append(toks, t.idToToken[id])
	}
	return strings.Join(toks, " ")
}

// lossyUTF8 converts b to a string, replacing each maximal subpart of an
// ill-formed sequence (Unicode 3.9, "U+FFFD substitution of maximal
// subparts") with U+FFFD.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || w > 1 {
			sb.Write(b[i : i+w])
			i += w
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += invalidPrefixLen(b[i:])
	}
	return sb.String()
}

// invalidPrefixLen returns the length of the maximal subpart at the start
// of b, which does not begin a valid sequence: the longest prefix that could
// still start a well-formed sequence, or 1.
func invalidPrefixLen(b []byte) int {
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 2
	case c == 0xE0:
		need, lo = 3, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 3
	case c == 0xED:
		need, hi = 3, 0x9F
	case c == 0xF0:
		need, lo = 4, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 4
	case c == 0xF4:
		need, hi = 4, 0x8F
	default:
		return 1
	}
	n := 1
	for n < need && n < len(b) {
		c := b[n]
		if n == 1 && (c < lo || c > hi) || n > 1 && (c < 0x80 || c > 0xBF) {
			break
		}
		n++
	}
	return n
}
