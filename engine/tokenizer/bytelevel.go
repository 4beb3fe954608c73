package tokenizer

import "unicode/utf8"

// Byte-level BPE (GPT-2) represents every byte as one printable rune so that
// a vocabulary of strings can hold arbitrary bytes. Printable Latin-1 bytes
// map to themselves; the other 68 bytes map, in order, to U+0100 onwards.

// byteToRune[b] is the rune that stands for byte b.
var byteToRune [256]rune

// runeToByte maps a byte-level rune back to its byte.
var runeToByte map[rune]byte

func init() {
	runeToByte = make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = next
			next++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelString maps raw bytes to their byte-level representation.
func byteLevelString(raw string) string {
	buf := make([]byte, 0, 2*len(raw))
	for i := 0; i < len(raw); i++ {
		buf = utf8.AppendRune(buf, byteToRune[raw[i]])
	}
	return string(buf)
}

// byteLevelDecode maps a token's runes back to bytes the way the HF
// ByteLevel decoder does: if any rune is not a byte-level rune, the token's
// own UTF-8 bytes are used unchanged.
func byteLevelDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}
