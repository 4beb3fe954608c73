package schema

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

// BenchmarkExtractInFlight extracts the held-out texts of four schemas with
// the demo text checkpoint, keeping 1, 4, 8 or 16 extractions in flight on
// one engine (as a pipeline worker with that MaxInFlight does). It reports
// msgs/s and forwards per message, and the engine's batch occupancy
// (sequences per forward):
//
//	go test ./engine/schema -run '^$' -bench ExtractInFlight -benchtime 48x
func BenchmarkExtractInFlight(b *testing.B) {
	type job struct {
		s    *Schema
		text string
	}
	var jobs []job
	for _, name := range []string{"order", "person", "event", "device"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "heldout", "text", "schemas", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		s, err := Compile(src)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range heldOut(b, name, 12) {
			jobs = append(jobs, job{s, c.Input})
		}
	}
	opts := Options{Policy: decode.Threshold{Tau: 0.9}}
	for _, inFlight := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("inflight=%d", inFlight), func(b *testing.B) {
			// A fresh engine: its prefix cache has not seen these prompts.
			e, err := engine.New(filepath.Join("..", "..", "testdata", "models", "demo-text"), engine.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			st0 := e.Stats()
			sem := make(chan struct{}, inFlight)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var firstErr error
			start := time.Now()
			n := 0
			for b.Loop() {
				j := jobs[n%len(jobs)]
				n++
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					if _, err := Extract(context.Background(), e, j.text, j.s, opts); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			took := time.Since(start)
			if firstErr != nil {
				b.Fatal(firstErr)
			}
			st := e.Stats()
			fw := st.Forwards - st0.Forwards
			b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
			b.ReportMetric(float64(fw)/float64(n), "forwards/msg")
			b.ReportMetric(float64(st.Rows-st0.Rows)/float64(n), "rows/msg")
			if fw > 0 {
				b.ReportMetric(float64(st.Seqs-st0.Seqs)/float64(fw), "seqs/forward")
				b.ReportMetric(float64(st.ForwardTime-st0.ForwardTime)/float64(fw)/1e3, "us/forward")
			}
		})
	}
}
