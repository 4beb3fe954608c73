package tokenizer

import (
	"sort"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's "added_tokens".
type addedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// addedMatcher finds added tokens in text, leftmost-longest, honouring the
// lstrip, rstrip and single_word flags as HF's AddedVocabulary does.
type addedMatcher struct {
	first  [256]bool          // bytes that can start a token
	byByte [256][]*addedToken // candidates by first byte, longest first
}

func newAddedMatcher(toks []*addedToken) *addedMatcher {
	m := &addedMatcher{}
	for _, t := range toks {
		if t.Content == "" {
			continue
		}
		b := t.Content[0]
		m.first[b] = true
		m.byByte[b] = append(m.byByte[b], t)
	}
	for b := range m.byByte {
		l := m.byByte[b]
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].Content) > len(l[j].Content) })
	}
	return m
}

// segment is a part of the input: an added token (tok != nil) or text.
type segment struct {
	text string
	tok  *addedToken
}

// split cuts s into text segments and added-token segments, appending them
// to segs.
func (m *addedMatcher) split(s string, segs []segment) []segment {
	done := 0 // end of the last token, where the next text segment starts
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		t := m.longestAt(s, i)
		if t == nil {
			i++
			continue
		}
		start, stop := i, i+len(t.Content)
		if t.SingleWord && (start > 0 && endsWithWord(s[:start]) || stop < len(s) && startsWithWord(s[stop:])) {
			i = stop
			continue
		}
		if t.LStrip {
			for start > done {
				r, w := utf8.DecodeLastRuneInString(s[:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= w
			}
		}
		if t.RStrip {
			for stop < len(s) {
				r, w := utf8.DecodeRuneInString(s[stop:])
				if !unicode.IsSpace(r) {
					break
				}
				stop += w
			}
		}
		if start > done {
			segs = append(segs, segment{text: s[done:start]})
		}
		segs = append(segs, segment{text: s[start:stop], tok: t})
		done, i = stop, stop
	}
	if done < len(s) {
		segs = append(segs, segment{text: s[done:]})
	}
	return segs
}

// longestAt returns the longest token that starts at s[i], or nil.
func (m *addedMatcher) longestAt(s string, i int) *addedToken {
	rest := s[i:]
	for _, t := range m.byByte[s[i]] {
		if len(t.Content) <= len(rest) && rest[:len(t.Content)] == t.Content {
			return t
		}
	}
	return nil
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}
