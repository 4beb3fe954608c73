package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	kgo "github.com/segmentio/kafka-go"
)

// boundedReadFn reads [Start, End) of one partition; one restriction per partition.
type boundedReadFn struct {
	Cfg SourceConfig `json:"cfg"`
}

func (fn *boundedReadFn) CreateInitialRestriction(p PartitionRange) offsetrange.Restriction {
	return offsetrange.Restriction{Start: p.Start, End: p.End}
}

// SplitRestriction keeps one restriction per partition: splitting a Kafka range into
// small pieces opens a reader per piece (measured: 2k msgs/s at 10 offsets per split).
func (fn *boundedReadFn) SplitRestriction(_ PartitionRange, rest offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{rest}
}

func (fn *boundedReadFn) RestrictionSize(_ PartitionRange, rest offsetrange.Restriction) float64 {
	return rest.Size()
}

func (fn *boundedReadFn) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(rest))
}

func (fn *boundedReadFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, p PartitionRange, emit func(Envelope)) error {
	rest := rt.GetRestriction().(offsetrange.Restriction)
	if rest.Start >= rest.End {
		return nil
	}
	r, err := fn.Cfg.newReader(p.Topic, p.Partition, rest.Start)
	if err != nil {
		return err
	}
	defer func() { r.r.Close() }()
	from := rest.Start
	wait := 250 * time.Millisecond
	for {
		if Draining() { // BeginDrain: read no more; what was emitted is written and committed
			rt.TryClaim(rest.End - 1)
			return nil
		}
		fctx, cancel := context.WithTimeout(ctx, fn.Cfg.idleTimeout())
		m, err := r.r.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				// No record for IdleTimeout. Only the broker can say whether the
				// rest of the range is gone (retention, truncation) or the fetch is
				// merely slow (a loaded worker): a timeout alone never drops data.
				gone, err := fn.rangeGone(ctx, p, from)
				if err != nil {
					return err
				}
				if gone {
					rt.TryClaim(rest.End - 1)
					return nil
				}
				continue
			}
			err = fmt.Errorf("kafka: read %s/%d at %d: %w", p.Topic, p.Partition, from, err)
			noteError("fetch", p.Topic, err)
			if !transient(err) {
				return err
			}
			// A broker restart or a cut network: a new reader at the next
			// offset once the backoff (up to 5 s) has passed.
			r.r.Close()
			if err := backoff(ctx, &wait, 5*time.Second); err != nil {
				return err
			}
			if r, err = fn.Cfg.newReader(p.Topic, p.Partition, from); err != nil {
				return err
			}
			continue
		}
		wait = 250 * time.Millisecond
		if m.Offset >= rest.End || !rt.TryClaim(m.Offset) {
			return rt.GetError()
		}
		noteFetched(fn.Cfg.Group, m, p.Start) // metrics.go: fetched records, high watermark
		emit(fromMessage(m, fn.Cfg.Group, from, p.Start))
		from = m.Offset + 1
		if from >= rest.End {
			return nil
		}
	}
}

// rangeGone reports whether a bounded read stuck at offset from has nothing
// left to read: the partition's log now ends at or before from (truncated),
// or retention deleted everything up to its end. Records at from or later
// that still exist mean the read is slow, not done.
func (fn *boundedReadFn) rangeGone(ctx context.Context, p PartitionRange, from int64) (bool, error) {
	cl, err := fn.Cfg.client()
	if err != nil {
		return false, err
	}
	last, err := listOffsets(ctx, cl, p.Topic, []int{p.Partition}, kgo.LastOffset)
	if err != nil {
		return false, err
	}
	first, err := listOffsets(ctx, cl, p.Topic, []int{p.Partition}, kgo.FirstOffset)
	if err != nil {
		return false, err
	}
	return last[p.Partition] <= from || first[p.Partition] >= min(last[p.Partition], p.End), nil
}
