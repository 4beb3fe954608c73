package kafka

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
)

// A drain stops this process's reads so that a job ends normally with its work
// committed: after [BeginDrain], each read of a partition (unbounded or bounded)
// fetches no further record, claims the rest of its range and ends. The records it
// already emitted go on through the pipeline as usual: the runner finishes the bundle,
// the sinks write the results and dead letters and commit their offsets, and once
// every range has ended the runner ends the job (beam.Run returns nil), as with
// [SourceConfig].StopAfterIdle. The records not read stay in the topic; the group's
// next consumer starts at the committed offset.
//
// The signal is process-wide, like the offset tracker the sinks share: it reaches the
// DoFns that run in this process (prism's loopback workers), not the workers of a
// remote runner.
var processDrain atomic.Pointer[drainSignal]

func init() { processDrain.Store(newDrainSignal()) }

// drainSignal is closed once, when the drain begins.
type drainSignal struct {
	once sync.Once
	ch   chan struct{}
}

func newDrainSignal() *drainSignal { return &drainSignal{ch: make(chan struct{})} }

// BeginDrain asks every read in this process to stop (see the comment on the drain
// signal above). It returns at once; calling it again does nothing.
func BeginDrain() {
	d := processDrain.Load()
	d.once.Do(func() { close(d.ch) })
}

// Draining reports whether [BeginDrain] was called.
func Draining() bool {
	select {
	case <-processDrain.Load().ch:
		return true
	default:
		return false
	}
}

// endUnbounded claims the rest of an unbounded read's range, so that the read ends
// with its restriction done (no residual for the runner to resume).
func endUnbounded(rt *sdf.LockRTracker) sdf.ProcessContinuation {
	rt.TryClaim(int64(math.MaxInt64) - 1)
	return sdf.StopProcessing()
}
