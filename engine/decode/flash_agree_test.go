package decode_test

import (
	"fmt"
	"slices"
	"testing"

	"dlmstream/engine/decode"
	"dlmstream/engine/model"
)

// BenchmarkFlashBlockAgreement measures FlashBlock's approximation on the
// trained demo checkpoint: every held-out instruction (chat template)
// decoded at threshold 0.9 with and without FlashBlock, reporting the
// share of items whose outputs are identical, the share of generated
// positions that agree, and the forwards of each. Run with:
//
//	go test ./engine/decode -run '^$' -bench FlashBlockAgreement -benchtime 1x
func BenchmarkFlashBlockAgreement(b *testing.B) {
	for _, opts := range []model.LoadOptions{{Exact: true}, {}} {
		m, a := loadModel(b, "demo-text", opts)
		prompts, stop := freeDavePrompts(b, "demo-text", 200)
		b.Run(fmt.Sprintf("demo-text/exact-kernels=%v", opts.Exact), func(b *testing.B) {
			for b.Loop() {
				same, agree, total, fe, ff := 0, 0, 0, 0, 0
				for _, pr := range prompts {
					p := decode.Params{MaxNew: 64, Stop: stop, Policy: decode.Threshold{Tau: 0.9}}
					want, wf := generate(b, m, a, pr, p)
					p.FlashBlock = true
					got, gf := generate(b, m, a, pr, p)
					if slices.Equal(got, want) {
						same++
					}
					for i := range max(len(got), len(want)) {
						if i < len(got) && i < len(want) && got[i] == want[i] {
							agree++
						}
					}
					total += max(len(got), len(want))
					fe += wf
					ff += gf
				}
				b.ReportMetric(100*float64(same)/float64(len(prompts)), "%identical")
				b.ReportMetric(100*float64(agree)/float64(max(total, 1)), "%positions")
				b.ReportMetric(float64(fe), "forwards-exact")
				b.ReportMetric(float64(ff), "forwards-flash")
				b.ReportMetric(float64(len(prompts)), "items")
			}
		})
	}
}
