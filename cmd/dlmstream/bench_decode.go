package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

// decodeRun is one measured setting of `bench --decode`.
type decodeRun struct {
	name     string
	ar       bool
	policy   decode.Policy
	tokens   int     // generated, all requests
	seqFwd   int     // forwards summed over requests
	wall     float64 // seconds, all requests together
	fwdMS    float64 // mean ms per engine forward
	forwards int64
}

func (r decodeRun) tpf() float64 { return float64(r.tokens) / float64(max(r.seqFwd, 1)) }
func (r decodeRun) tps() float64 { return float64(r.tokens) / r.wall }

// benchDecode measures autoregressive and block decoding on the same
// weights, for each batch size: tokens/s, forwards per token, tokens per
// forward (TPF), ms per forward, and the speedup over AR next to the
// theoretical TPF × t_forward(AR) / t_forward(block).
func benchDecode(w io.Writer, e *engine.Engine, batches []int, promptLen, maxNew int, oracle []int, tau float64) error {
	block := e.Arch().Block
	fmt.Fprintf(w, "decode: prompt %d tokens, %d new tokens per request, block size %d; random prompts; greedy\n", promptLen, maxNew, block)
	fmt.Fprintf(w, "theory = TPF × ms/forward(AR) / ms/forward(block): the speedup if only forwards cost time; measured = tokens/s ÷ AR tokens/s\n\n")
	fmt.Fprintf(w, "%5s  %-16s %9s %8s %7s %10s %9s %8s %8s %6s\n", "batch", "mode", "tokens/s", "fwd/tok", "TPF", "ms/forward", "rows/fwd", "speedup", "theory", "ratio")
	for _, b := range batches {
		runs := []decodeRun{{name: "AR", ar: true}, {name: fmt.Sprintf("threshold %.2g", tau), policy: decode.Threshold{Tau: float32(tau)}}}
		for _, k := range oracle {
			if k <= block {
				runs = append(runs, decodeRun{name: fmt.Sprintf("oracle k=%d", k), policy: decode.Oracle{K: k}})
			}
		}
		var ar decodeRun
		for i := range runs {
			r := &runs[i]
			before := e.Stats()
			if err := decodeOnce(e, r, b, promptLen, maxNew); err != nil {
				return err
			}
			after := e.Stats()
			r.forwards = after.Forwards - before.Forwards
			r.fwdMS = float64(after.ForwardTime-before.ForwardTime) / float64(max(r.forwards, 1)) / 1e6
			rows := float64(after.Rows-before.Rows) / float64(max(r.forwards, 1))
			if r.ar {
				ar = *r
				fmt.Fprintf(w, "%5d  %-16s %9.2f %8.2f %7.2f %10.1f %9.1f %8s %8s %6s\n", b, r.name, r.tps(), 1/r.tpf(), r.tpf(), r.fwdMS, rows, "1.00", "1.00", "")
				continue
			}
			speed := r.tps() / ar.tps()
			theory := r.tpf() / ar.tpf() * ar.fwdMS / r.fwdMS
			fmt.Fprintf(w, "%5d  %-16s %9.2f %8.2f %7.2f %10.1f %9.1f %8.2f %8.2f %5.0f%%\n", b, r.name, r.tps(), 1/r.tpf(), r.tpf(), r.fwdMS, rows, speed, theory, 100*speed/theory)
		}
	}
	return nil
}

// decodeOnce runs batch concurrent requests to completion.
func decodeOnce(e *engine.Engine, r *decodeRun, batch, promptLen, maxNew int) error {
	vocab := e.Arch().Vocab
	rng := rand.New(rand.NewPCG(uint64(batch), 7))
	prompts := make([][]int32, batch)
	for i := range prompts {
		prompts[i] = make([]int32, promptLen)
		for j := range prompts[i] {
			prompts[i][j] = int32(rng.IntN(min(vocab, 150000)))
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, batch)
	res := make([]engine.Result, batch)
	start := time.Now()
	for i := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = e.Generate(context.Background(), engine.Request{Tokens: prompts[i], MaxNewTokens: maxNew, Autoregressive: r.ar, Policy: r.policy})
		}()
	}
	wg.Wait()
	r.wall = time.Since(start).Seconds()
	for i := range res {
		if errs[i] != nil {
			return errs[i]
		}
		r.tokens += res[i].Tokens
		r.seqFwd += res[i].Forwards
	}
	return nil
}
