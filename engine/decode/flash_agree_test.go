package decode_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
	"dlmstream/engine/tokenizer"
)

// heldOutInstructions are demo-text's held-out instructions in the chat
// template, with their expected outputs.
func heldOutInstructions(t testing.TB) (prompts [][]int32, outputs []string, tok *tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join("..", "..", "testdata", "models", "demo-text"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join("..", "..", "testdata", "heldout", "text", "instructions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct{ Input, Output string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		text, err := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: rec.Input}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			t.Fatal(err)
		}
		prompts, outputs = append(prompts, tok.Encode(text)), append(outputs, rec.Output)
	}
	return prompts, outputs, tok
}

// BenchmarkFlashBlockAgreement measures FlashBlock's approximation on the
// trained demo checkpoint: every held-out instruction decoded at threshold
// 0.9 with and without FlashBlock, reporting the share of items whose
// outputs are identical, the share of generated positions that agree, the
// share of correct answers of each, and the forwards of each. Run with:
//
//	go test ./engine/decode -run '^$' -bench FlashBlockAgreement -benchtime 1x
func BenchmarkFlashBlockAgreement(b *testing.B) {
	_, stop := freeDavePrompts(b, "demo-text", 0)
	prompts, outputs, tok := heldOutInstructions(b)
	correct := func(out []int32, want string) bool {
		return strings.TrimSpace(tok.Decode(out, true)) == want
	}
	for _, opts := range []model.LoadOptions{{Exact: true}, {}} {
		m, a := loadModel(b, "demo-text", opts)
		b.Run(fmt.Sprintf("demo-text/exact-kernels=%v", opts.Exact), func(b *testing.B) {
			for b.Loop() {
				same, agree, total, fe, ff, ce, cf := 0, 0, 0, 0, 0, 0, 0
				for i, pr := range prompts {
					p := decode.Params{MaxNew: 64, Stop: stop, Policy: decode.Threshold{Tau: 0.9}}
					want, wf := generate(b, m, a, pr, p)
					p.FlashBlock = true
					got, gf := generate(b, m, a, pr, p)
					if slices.Equal(got, want) {
						same++
					}
					for j := range min(len(got), len(want)) {
						if got[j] == want[j] {
							agree++
						}
					}
					total += max(len(got), len(want))
					fe, ff = fe+wf, ff+gf
					if correct(want, outputs[i]) {
						ce++
					}
					if correct(got, outputs[i]) {
						cf++
					}
				}
				n := float64(len(prompts))
				b.ReportMetric(100*float64(same)/n, "%identical")
				b.ReportMetric(100*float64(agree)/float64(max(total, 1)), "%positions")
				b.ReportMetric(100*float64(ce)/n, "%correct-exact")
				b.ReportMetric(100*float64(cf)/n, "%correct-flash")
				b.ReportMetric(float64(fe), "forwards-exact")
				b.ReportMetric(float64(ff), "forwards-flash")
				b.ReportMetric(n, "items")
			}
		})
	}
}
