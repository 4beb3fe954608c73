package kerneltest_test

import (
	"fmt"
	"math"

	"dlmstream/kernels/kerneltest"
)

// RowStats on one row of four logits, one of them masked with -Inf: the
// greedy token, its probability, the gap to the runner-up and the entropy.
func ExampleCPU_RowStats() {
	logits := []float32{1, 3, float32(math.Inf(-1)), 2} // [rows 1, vocab 4]
	stats := make([]kerneltest.RowStat, 1)
	if err := (kerneltest.CPU{}).RowStats(stats, logits, 1, len(logits)); err != nil {
		fmt.Println(err)
		return
	}
	s := stats[0]
	fmt.Printf("token %d, conf %.4f, margin %.4f, logit margin %g, entropy %.4f nats\n",
		s.Token, s.Conf, s.Margin, s.LogitMargin, s.Entropy)
	// Output: token 1, conf 0.6652, margin 0.4205, logit margin 1, entropy 0.8324 nats
}
