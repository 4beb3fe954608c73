package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Load reads dir/tokenizer.json and, if present, dir/tokenizer_config.json
// (at most MaxTokenizerJSONBytes and MaxConfigJSONBytes).
func Load(dir string) (*Tokenizer, error) {
	tj, err := readLimited(filepath.Join(dir, "tokenizer.json"), MaxTokenizerJSONBytes)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cj, err := readLimited(filepath.Join(dir, "tokenizer_config.json"), MaxConfigJSONBytes)
	if errors.Is(err, os.ErrNotExist) {
		cj = nil
	} else if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return FromJSON(tj, cj)
}

// jsonComponent is any typed component ({"type": ...}) of tokenizer.json.
type jsonComponent map[string]json.RawMessage

func (c jsonComponent) typ() string {
	var s string
	_ = json.Unmarshal(c["type"], &s)
	return s
}

func (c jsonComponent) field(name string, v any) error {
	raw, ok := c[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, v)
}

type tokenizerFile struct {
	AddedTokens  []*addedToken `json:"added_tokens"`
	Normalizer   jsonComponent `json:"normalizer"`
	PreTokenizer jsonComponent `json:"pre_tokenizer"`
	Decoder      jsonComponent `json:"decoder"`
	Model        jsonComponent `json:"model"`
}

// unsupported builds the error for a component this package cannot run.
func unsupported(path, what string) error {
	return fmt.Errorf("tokenizer: unsupported %s at %s", what, path)
}

// FromJSON builds a Tokenizer from the bytes of tokenizer.json and,
// optionally (nil), tokenizer_config.json. Components it cannot reproduce
// exactly, and files or tables over the limits (limits.go), are rejected
// with an error naming the JSON path.
func FromJSON(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	if len(tokenizerJSON) > MaxTokenizerJSONBytes {
		return nil, fmt.Errorf("tokenizer: tokenizer.json is %d bytes, over the %d-byte limit (MaxTokenizerJSONBytes)", len(tokenizerJSON), MaxTokenizerJSONBytes)
	}
	if len(configJSON) > MaxConfigJSONBytes {
		return nil, fmt.Errorf("tokenizer: tokenizer_config.json is %d bytes, over the %d-byte limit (MaxConfigJSONBytes)", len(configJSON), MaxConfigJSONBytes)
	}
	var f tokenizerFile
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: parse tokenizer.json: %w", err)
	}
	t := &Tokenizer{}
	var err error
	if t.norm, err = parseNormalizer(f.Normalizer, "normalizer", 0); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if err = t.parseDecoder(f.Decoder); err != nil {
		return nil, err
	}
	if t.model, err = parseModel(f.Model, t.pre.byteLevel); err != nil {
		return nil, err
	}
	if err = t.addTokens(f.AddedTokens); err != nil {
		return nil, err
	}
	if configJSON != nil {
		if t.chat, err = parseChatConfig(configJSON); err != nil {
			return nil, err
		}
	}
	t.buildIndex()
	return t, nil
}

func parseNormalizer(c jsonComponent, path string, depth int) (*normalizer, error) {
	n := &normalizer{}
	if c == nil {
		return n, nil
	}
	switch typ := c.typ(); typ {
	case "NFC", "NFD", "NFKC", "NFKD":
		n.forms = append(n.forms, unicodeForms[typ])
	case "Sequence":
		if depth >= maxNesting {
			return nil, nestedTooDeep(path)
		}
		var subs []jsonComponent
		if err := c.field("normalizers", &subs); err != nil {
			return nil, fmt.Errorf("tokenizer: %s.normalizers: %w", path, err)
		}
		for i, sc := range subs {
			sub, err := parseNormalizer(sc, fmt.Sprintf("%s.normalizers[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			n.forms = append(n.forms, sub.forms...)
		}
	default:
		return nil, unsupported(path, fmt.Sprintf("normalizer type %q", typ))
	}
	return n, nil
}

func parsePreTokenizer(c jsonComponent, path string) (*preTokenizer, error) {
	p := &preTokenizer{}
	if c == nil {
		return p, nil
	}
	if err := p.add(c, path, 0); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *preTokenizer) add(c jsonComponent, path string, depth int) error {
	switch typ := c.typ(); typ {
	case "Sequence":
		if depth >= maxNesting {
			return nestedTooDeep(path)
		}
		var subs []jsonComponent
		if err := c.field("pretokenizers", &subs); err != nil {
			return fmt.Errorf("tokenizer: %s.pretokenizers: %w", path, err)
		}
		for i, sc := range subs {
			if err := p.add(sc, fmt.Sprintf("%s.pretokenizers[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	case "ByteLevel":
		var prefix bool
		useRegex := true // HF default
		if err := c.field("add_prefix_space", &prefix); err != nil {
			return fmt.Errorf("tokenizer: %s.add_prefix_space: %w", path, err)
		}
		if err := c.field("use_regex", &useRegex); err != nil {
			return fmt.Errorf("tokenizer: %s.use_regex: %w", path, err)
		}
		if prefix {
			p.stages = append(p.stages, prefixSpace{})
		}
		if useRegex {
			sc, _ := knownScanner(patternGPT2)
			p.stages = append(p.stages, sc)
		}
		p.byteLevel = true
	case "Split":
		var pattern struct{ Regex, String *string }
		var behavior string
		var invert bool
		if err := c.field("pattern", &pattern); err != nil {
			return fmt.Errorf("tokenizer: %s.pattern: %w", path, err)
		}
		if err := c.field("behavior", &behavior); err != nil {
			return fmt.Errorf("tokenizer: %s.behavior: %w", path, err)
		}
		if err := c.field("invert", &invert); err != nil {
			return fmt.Errorf("tokenizer: %s.invert: %w", path, err)
		}
		if behavior != "Isolated" {
			return unsupported(path+".behavior", fmt.Sprintf("Split behavior %q", behavior))
		}
		if invert {
			return unsupported(path+".invert", "Split with invert=true")
		}
		if pattern.Regex == nil {
			return unsupported(path+".pattern", "Split pattern (only Regex is supported)")
		}
		if sc, ok := knownScanner(*pattern.Regex); ok {
			p.stages = append(p.stages, sc)
			break
		}
		rs, err := newRegexSplitter(*pattern.Regex)
		if err != nil {
			return fmt.Errorf("tokenizer: %s.pattern.Regex: %w", path, err)
		}
		p.stages = append(p.stages, rs)
	default:
		return unsupported(path, fmt.Sprintf("pre_tokenizer type %q", typ))
	}
	return nil
}

func (t *Tokenizer) parseDecoder(c jsonComponent) error {
	if c == nil {
		return nil // HF joins tokens with spaces
	}
	if typ := c.typ(); typ != "ByteLevel" {
		return unsupported("decoder", fmt.Sprintf("decoder type %q", typ))
	}
	t.byteLevelDecoder = true
	return nil
}

func parseModel(c jsonComponent, byteLevel bool) (*bpe, error) {
	if c == nil {
		return nil, errors.New("tokenizer: missing model")
	}
	if typ := c.typ(); typ != "BPE" {
		return nil, unsupported("model.type", fmt.Sprintf("model type %q (only BPE is supported)", typ))
	}
	var (
		vocab                  map[string]int32
		rawMerges              []json.RawMessage
		dropout                *float64
		unk                    *string
		prefix, suffix         string
		byteFallback, ignoreMg bool
	)
	for _, fd := range []struct {
		name string
		v    any
	}{
		{"vocab", &vocab}, {"merges", &rawMerges}, {"dropout", &dropout}, {"unk_token", &unk},
		{"continuing_subword_prefix", &prefix}, {"end_of_word_suffix", &suffix},
		{"byte_fallback", &byteFallback}, {"ignore_merges", &ignoreMg},
	} {
		if err := c.field(fd.name, fd.v); err != nil {
			return nil, fmt.Errorf("tokenizer: model.%s: %w", fd.name, err)
		}
	}
	if err := checkVocab(vocab); err != nil {
		return nil, err
	}
	if len(rawMerges) > MaxMerges {
		return nil, fmt.Errorf("tokenizer: model.merges has %d entries, over the limit of %d (MaxMerges)", len(rawMerges), MaxMerges)
	}
	if dropout != nil && *dropout != 0 {
		return nil, unsupported("model.dropout", "BPE dropout")
	}
	if prefix != "" {
		return nil, unsupported("model.continuing_subword_prefix", "continuing_subword_prefix")
	}
	if suffix != "" {
		return nil, unsupported("model.end_of_word_suffix", "end_of_word_suffix")
	}
	m := &bpe{
		vocab:        vocab,
		merges:       make(map[uint64]merge, len(rawMerges)),
		byteLevel:    byteLevel,
		ignoreMerges: ignoreMg,
		byteFallback: byteFallback,
		unkID:        -1,
		cache:        make(map[string][]int32),
		useCache:     true,
	}
	if m.vocab == nil {
		m.vocab = map[string]int32{}
	}
	if unk != nil {
		id, ok := m.vocab[*unk]
		if !ok {
			return nil, fmt.Errorf("tokenizer: model.unk_token %q is not in the vocabulary", *unk)
		}
		m.unkID = id
	}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
		if id, ok := m.vocab[string(byteToRune[b])]; ok {
			m.byteIDs[b] = id
		}
	}
	for i, raw := range rawMerges {
		a, b, err := parseMerge(raw)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: model.merges[%d]: %w", i, err)
		}
		ida, oka := m.vocab[a]
		idb, okb := m.vocab[b]
		idn, okn := m.vocab[a+b]
		if !oka || !okb || !okn {
			return nil, fmt.Errorf("tokenizer: model.merges[%d]: %q %q: token not in the vocabulary", i, a, b)
		}
		// A repeated pair keeps its last rank, as HF's map collection does.
		m.merges[pairKey(ida, idb)] = merge{rank: int32(i), newID: idn}
	}
	return m, nil
}

// parseMerge accepts "a b" strings and ["a", "b"] pairs.
func parseMerge(raw json.RawMessage) (string, string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		parts := strings.Split(s, " ")
		if len(parts) != 2 {
			return "", "", fmt.Errorf("merge %q is not two space-separated tokens", s)
		}
		return parts[0], parts[1], nil
	}
	var pair []string
	if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
		return "", "", fmt.Errorf("merge %s is neither \"a b\" nor [a, b]", raw)
	}
	return pair[0], pair[1], nil
}

// addTokens registers added_tokens, checking that ids do not collide with
// different vocabulary entries.
func (t *Tokenizer) addTokens(toks []*addedToken) error {
	if len(toks) > MaxVocab {
		return fmt.Errorf("tokenizer: added_tokens has %d entries, over the limit of %d (MaxVocab)", len(toks), MaxVocab)
	}
	t.added = toks
	var raw, normed []*addedToken
	for i, a := range toks {
		if a == nil || a.Content == "" {
			return fmt.Errorf("tokenizer: added_tokens[%d]: empty content", i)
		}
		if a.ID < 0 {
			return fmt.Errorf("tokenizer: added_tokens[%d]: negative id %d", i, a.ID)
		}
		if a.ID >= MaxVocab {
			return fmt.Errorf("tokenizer: added_tokens[%d]: id %d is not below %d (MaxVocab)", i, a.ID, MaxVocab)
		}
		if a.Normalized {
			nt := *a
			nt.Content = t.norm.normalize(a.Content)
			normed = append(normed, &nt)
		} else {
			raw = append(raw, a)
		}
	}
	t.rawAdded = newAddedMatcher(raw)
	if len(normed) > 0 {
		t.normAdded = newAddedMatcher(normed)
	}
	return nil
}
