// Package tokenizer is a byte-level BPE tokenizer that reads Hugging Face
// tokenizer.json files and reproduces the HF `tokenizers` library exactly
// for the components Qwen2/Qwen2.5/Qwen3 and GPT-2-style files declare.
//
// # Pipeline
//
// Encode first cuts added tokens (special or not) out of the text, then
// normalizes the rest (NFC for Qwen), splits it with the pre-tokenizer
// (a hand-written scanner for the known Qwen2, GPT-4 and GPT-2 patterns,
// github.com/dlclark/regexp2 with a match timeout otherwise), and runs BPE
// merges by rank on each piece. Decode maps byte-level tokens back to bytes
// and replaces invalid UTF-8 with U+FFFD the way Rust's
// String::from_utf8_lossy does.
//
// # Differences from HF
//
// Encode never adds BOS/EOS (the post_processor is ignored, as with
// add_special_tokens=False). Invalid UTF-8 in Encode's input is encoded as
// raw bytes (HF only accepts valid strings). A Tokenizer is safe for
// concurrent use.
//
// # Goldens
//
// The tests compare with HF output stored under testdata/tokenizer/qwen3;
// `python3 tools/reference/tokenizer_golden.py` (see its header for the
// pinned venv) regenerates them.
package tokenizer

// Tokenizer encodes text to token ids and back. Build it with Load or
// FromJSON.
type Tokenizer struct {
	norm  *normalizer
	pre   *preTokenizer
	model *bpe

	added     []*addedToken
	rawAdded  *addedMatcher // tokens with normalized=false, matched on raw text
	normAdded *addedMatcher // tokens with normalized=true, matched after normalizing; may be nil

	byteLevelDecoder bool
	chat             *chatConfig

	idToToken      []string // by id; "" where unused
	decoded        [][]byte // bytes each id decodes to
	special        []bool   // by id
	addedByContent map[string]int32
}

// buildIndex fills the id-indexed tables after loading.
func (t *Tokenizer) buildIndex() {
	n := 0
	for _, id := range t.model.vocab {
		n = max(n, int(id)+1)
	}
	for _, a := range t.added {
		n = max(n, int(a.ID)+1)
	}
	t.idToToken = make([]string, n)
	t.special = make([]bool, n)
	t.decoded = make([][]byte, n)
	t.addedByContent = make(map[string]int32, len(t.added))
	for tok, id := range t.model.vocab {
		if id >= 0 {
			t.idToToken[id] = tok
		}
	}
	for _, a := range t.added {
		t.idToToken[a.ID] = a.Content
		t.special[a.ID] = a.Special
		t.addedByContent[a.Content] = a.ID
	}
	for id, tok := range t.idToToken {
		if t.byteLevelDecoder {
			t.decoded[id] = byteLevelDecode(tok)
		} else {
			t.decoded[id] = []byte(tok)
		}
	}
}

// Encode returns the token ids of text. Added tokens are matched first; no
// BOS/EOS is added.
func (t *Tokenizer) Encode(text string) []int32 {
	out := make([]int32, 0, len(text)/3+1)
	ws := scratchPool.Get().(*wordScratch)
	defer scratchPool.Put(ws)
	emit := func(piece string) { out = t.model.encodePiece(piece, out, ws) }
	var segBuf [16]segment
	for _, seg := range t.rawAdded.split(text, segBuf[:0]) {
		if seg.tok != nil {
			out = append(out, seg.tok.ID)
			continue
		}
		normed := t.norm.normalize(seg.text)
		if t.normAdded == nil {
			t.pre.split(normed, emit)
			continue
		}
		for _, sub := range t.normAdded.split(normed, nil) {
			if sub.tok != nil {
				out = append(out, sub.tok.ID)
			} else {
				t.pre.split(sub.text, emit)
			}
		}
	}
	return out
}

// TokenID returns the id of a vocabulary entry or added token.
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	if id, ok := t.addedByContent[tok]; ok {
		return id, true
	}
	id, ok := t.model.vocab[tok]
	return id, ok
}

// Token returns the vocabulary string of id ("" if id is unknown). For
// byte-level models it is in the byte-level alphabet (e.g. "Ġthe").
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.idToToken) {
		return ""
	}
	return t.idToToken[id]
}

// TokenBytes returns the raw bytes id decodes to (before invalid UTF-8 is
// replaced), aliasing the tokenizer's table, and whether id is a text piece:
// a vocabulary token, not an added one, whose string is entirely in the
// byte-level alphabet (for byte-level tokenizers). Constrained decoders
// (engine/schema) use it to see what each token would write.
func (t *Tokenizer) TokenBytes(id int32) (raw []byte, text bool) {
	if id < 0 || int(id) >= len(t.idToToken) {
		return nil, false
	}
	tok := t.idToToken[id]
	if added, ok := t.addedByContent[tok]; tok == "" || ok && added == id {
		return t.decoded[id], false
	}
	if t.byteLevelDecoder {
		for _, r := range tok {
			if _, ok := runeToByte[r]; !ok {
				return t.decoded[id], false
			}
		}
	}
	return t.decoded[id], true
}

// VocabSize is the largest id over vocabulary and added tokens, plus one.
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}
