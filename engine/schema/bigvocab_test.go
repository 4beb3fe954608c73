package schema

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"dlmstream/engine/tokenizer"
)

var (
	qwenOnce sync.Once
	qwenTok  *tokenizer.Tokenizer
	qwenErr  error
)

// qwenVocab is the full Qwen3 vocabulary (151k tokens), with a reserved
// added token standing in for the mask.
func qwenVocab(t testing.TB) (*tokenizer.Tokenizer, *vocab) {
	t.Helper()
	qwenOnce.Do(func() {
		const dir = "../../testdata/tokenizer/qwen3/"
		f, err := os.Open(dir + "tokenizer.json.gz")
		if err != nil {
			qwenErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			qwenErr = err
			return
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, zr); err != nil {
			qwenErr = err
			return
		}
		cfg, err := os.ReadFile(dir + "tokenizer_config.json")
		if err != nil {
			qwenErr = err
			return
		}
		qwenTok, qwenErr = tokenizer.FromJSON(buf.Bytes(), cfg)
	})
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	mask, ok := qwenTok.TokenID("<|fim_pad|>")
	if !ok {
		t.Fatal("no <|fim_pad|>")
	}
	v, err := vocabOf(qwenTok, mask, qwenTok.VocabSize(), "<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	return qwenTok, v
}

// TestQwenVocab decodes the invoice schema with random logits over the
// full Qwen3 vocabulary: multi-byte tokens, partial UTF-8, long pieces.
func TestQwenVocab(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("151k-token vocabulary: skipped with -short and -race")
	}
	tok, v := qwenVocab(t)
	s, err := Compile([]byte(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 3))
		sc, err := newScaffold(s, tok, v, Options{}.withDefaults())
		if err != nil {
			t.Fatal(err)
		}
		randomPicks(r, sc)
		res, err := sc.decode(context.Background(), s, &Result{}, fakeDecode(r, v), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(res.JSON); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", res.JSON)
	}
}

// BenchmarkRestrictQwen measures one Restrict call on a string slot with
// the full Qwen3 vocabulary (tables warm).
func BenchmarkRestrictQwen(b *testing.B) {
	tok, v := qwenVocab(b)
	s, err := Compile([]byte(invoiceSchema))
	if err != nil {
		b.Fatal(err)
	}
	sc, err := newScaffold(s, tok, v, Options{}.withDefaults())
	if err != nil {
		b.Fatal(err)
	}
	randomPicks(rand.New(rand.NewPCG(1, 1)), sc)
	c := newConstraint(sc)
	var sl *slot
	for _, x := range sc.slots {
		if !x.choice && x.node.Kind == String && x.node.Pattern == "" && x.node.Format == "" {
			sl = x
			break
		}
	}
	gen := append([]int32(nil), sc.Template...)
	logits := make([]float32, v.size)
	b.ResetTimer()
	for range b.N {
		c.Restrict(gen, sl.start+3, logits)
	}
}
