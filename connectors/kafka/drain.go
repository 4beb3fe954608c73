package kafka

import (
	"context"
	"fmt"
	"time"
)

// ReadTopic reads every record of topic from the earliest offset up to the high
// watermark it finds at the call (a snapshot, for CLIs and checks; pipelines use the
// sources). It gives up on a partition after idle without a record.
func ReadTopic(ctx context.Context, cfg Config, topic string, idle time.Duration) ([]Envelope, error) {
	src := SourceConfig{Config: cfg, Topics: []string{topic}, Start: StartEarliest}
	ranges, err := ListRanges(ctx, src, true)
	if err != nil {
		return nil, err
	}
	var out []Envelope
	for _, r := range ranges {
		if r.Start >= r.End {
			continue
		}
		rd, err := src.newReader(r.Topic, r.Partition, r.Start)
		if err != nil {
			return nil, err
		}
		for {
			fctx, cancel := context.WithTimeout(ctx, idle)
			m, err := rd.r.FetchMessage(fctx)
			cancel()
			if err != nil {
				rd.r.Close()
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("kafka: read %s/%d: %w", r.Topic, r.Partition, err)
			}
			out = append(out, fromMessage(m, "", m.Offset, r.Start))
			if m.Offset+1 >= r.End {
				break
			}
		}
		rd.r.Close()
	}
	return out, nil
}

// Progress reports how many offsets of ranges the group has committed, and how many
// the ranges hold: a bounded job's progress.
func Progress(ctx context.Context, cfg Config, group string, ranges []PartitionRange) (done, total int64, err error) {
	cl, err := cfg.client()
	if err != nil {
		return 0, 0, err
	}
	byTopic := map[string][]int{}
	for _, r := range ranges {
		byTopic[r.Topic] = append(byTopic[r.Topic], r.Partition)
		total += r.End - r.Start
	}
	committed := map[string]map[int]int64{}
	for topic, ids := range byTopic {
		if committed[topic], err = committedOffsets(ctx, cl, group, topic, ids); err != nil {
			return 0, total, err
		}
	}
	for _, r := range ranges {
		if c, ok := committed[r.Topic][r.Partition]; ok && c > r.Start {
			done += min(c, r.End) - r.Start
		}
	}
	return done, total, nil
}
