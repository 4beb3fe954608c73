package qwen

import (
	"fmt"
	"sync"
	"testing"

	"dlmstream/engine/tensor"
)

var (
	sdarOnce  sync.Once
	sdarModel *Model
)

// BenchmarkForwardSDAR17B times one forward at SDAR-1.7B dimensions (random
// bf16 weights, 4 GB of RAM) for 1 token and 4-, 8- and 32-token blocks over a
// 512-token committed context. Run with:
//
//	go test ./engine/model/qwen -run '^$' -bench SDAR17B -benchtime 5x
func BenchmarkForwardSDAR17B(b *testing.B) {
	sdarOnce.Do(func() { sdarModel, _ = Random(SDAR17B(), 1, tensor.BF16, false) })
	m := sdarModel
	for _, k := range []int{1, 4, 8, 32} {
		b.Run(fmt.Sprintf("tokens=%d", k), func(b *testing.B) {
			run, free, err := BlockStep(m, 512, k, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer free()
			if err := run(); err != nil { // warm
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1e3, "ms/forward")
			b.ReportMetric(float64(m.WeightBytes())/sec/1e9, "weightGB/s")
			b.ReportMetric(ForwardFLOPs(m.cfg, 512, k)/sec/1e9, "GFLOP/s")
		})
	}
}
