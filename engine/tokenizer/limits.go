package tokenizer

import (
	"fmt"
	"io"
	"os"
)

// Limits on the files a Tokenizer is loaded from. The id-indexed tables
// are as long as the largest id, so one vocabulary entry with id
// 2,000,000,000 in a 100-byte file used to allocate about 80 GB; over a
// limit, loading fails with an error naming the file or entry instead.
const (
	// MaxTokenizerJSONBytes bounds tokenizer.json (Qwen3's is 11 MB,
	// Gemma 3's, with a 262,144-token vocabulary, 33 MB).
	MaxTokenizerJSONBytes = 64 << 20
	// MaxConfigJSONBytes bounds tokenizer_config.json (chat templates and
	// added-token tables: tens of KB in practice).
	MaxConfigJSONBytes = 16 << 20
	// MaxVocab bounds token ids: every vocabulary and added-token id must
	// be below it.
	MaxVocab = 1 << 20
	// MaxMerges bounds model.merges (Llama 3 has 280,147).
	MaxMerges = 1 << 21
	// maxNesting bounds Sequence normalizers and pre-tokenizers inside one
	// another (each level re-reads the JSON below it).
	maxNesting = 8
)

// readLimited reads the file at path, refusing one over limit bytes
// before reading it (and if it grows past limit while read).
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d-byte limit", path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is more than %d bytes, the limit", path, limit)
	}
	return data, nil
}

// checkVocab refuses a vocabulary over MaxVocab entries or with an id
// outside [0, MaxVocab); the entry named is the first in sorted order, so
// the error does not depend on map order.
func checkVocab(vocab map[string]int32) error {
	if len(vocab) > MaxVocab {
		return fmt.Errorf("tokenizer: model.vocab has %d entries, over the limit of %d (MaxVocab)", len(vocab), MaxVocab)
	}
	bad, found := "", false
	for tok, id := range vocab {
		if (id < 0 || id >= MaxVocab) && (!found || tok < bad) {
			bad, found = tok, true
		}
	}
	if found {
		return fmt.Errorf("tokenizer: model.vocab[%s]: id %d is outside [0, %d) (MaxVocab)", quoteShort(bad), vocab[bad], MaxVocab)
	}
	return nil
}

// quoteShort quotes s, cut to 40 bytes.
func quoteShort(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...", s[:40])
	}
	return fmt.Sprintf("%q", s)
}

// nestedTooDeep is the error for a Sequence nested deeper than maxNesting.
func nestedTooDeep(path string) error {
	return fmt.Errorf("tokenizer: %s: Sequence nested deeper than %d levels", path, maxNesting)
}
