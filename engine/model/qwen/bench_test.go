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

// BenchmarkFlashBlockStep times one denoising step (a forward of a block
// of k tokens with logits for every row) over a long committed prefix, at
// SDAR-1.7B width (hidden 2048, 16 query / 8 kv heads of 128) with 4
// layers and a 4096-token vocabulary, so the layers' attention and linear
// work are what is measured: the exact path against FlashBlock's later
// steps (attention within the block, merged with the cached prefix
// attention) and its first steps (prefix and block attention computed
// apart and merged, the prefix part cached). Run with:
//
//	go test ./engine/model/qwen -run '^$' -bench FlashBlockStep -benchtime 20x
func BenchmarkFlashBlockStep(b *testing.B) {
	for _, k := range []int{4, 32} {
		cfg := SDAR17B()
		cfg.NumLayers, cfg.VocabSize, cfg.BlockSize = 4, 4096, k
		mask := 4095
		cfg.MaskTokenID = &mask
		m, err := Random(cfg, 1, tensor.BF16, false)
		if err != nil {
			b.Fatal(err)
		}
		for _, ctx := range []int{512, 2048} {
			for _, mode := range []string{"exact", "flash", "flash-first"} {
				b.Run(fmt.Sprintf("block=%d/prefix=%d/%s", k, ctx, mode), func(b *testing.B) {
					var run func() error
					var free func()
					var err error
					switch mode {
					case "exact":
						run, free, err = BlockStep(m, ctx, k, 1)
					default:
						run, free, err = BlockStepFlash(m, ctx, k, 1, mode == "flash-first")
					}
					if err != nil {
						b.Fatal(err)
					}
					defer free()
					if err := run(); err != nil { // warm; FlashBlock caches the prefix attention
						b.Fatal(err)
					}
					b.ResetTimer()
					for b.Loop() {
						if err := run(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1e3, "ms/step")
				})
			}
		}
		m.Close()
	}
}
