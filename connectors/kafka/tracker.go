package kafka

import (
	"sort"
	"sync"

	kgo "github.com/segmentio/kafka-go"
)

// OffsetTracker decides when a partition's offset may be committed: only once every
// lower offset of that partition has its result written. Elements report offset spans
// [From, Offset] (see [Origin]); the commit point of a partition is the first offset not
// yet covered by a contiguous chain of done spans starting at the job's Base. It is safe
// for concurrent use. The zero value is ready.
type OffsetTracker struct {
	mu    sync.Mutex
	parts map[partKey]*partState

	// sendMu serializes the commit requests of the sinks sharing the
	// tracker, and sent is the highest offset committed per partition: a
	// sink whose lower commit point lost the race to a higher one sends
	// nothing, so a partition's committed offset never moves back.
	sendMu sync.Mutex
	sent   map[sentKey]int64
}

type sentKey struct {
	group, topic string
	partition    int
}

// sendCommits sends the commit points in points that are higher than any
// sent before (per group, topic and partition) with send, one call per
// group, in order with every other call of this tracker. send removes from
// topics what it did not commit (a group member's partitions it no longer
// holds), so those are not counted as sent.
func (t *OffsetTracker) sendCommits(points map[sentKey]int64, send func(group string, topics map[string][]kgo.OffsetCommit) error) error {
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	if t.sent == nil {
		t.sent = map[sentKey]int64{}
	}
	byGroup := map[string]map[string][]kgo.OffsetCommit{}
	for k, off := range points {
		if prev, ok := t.sent[k]; ok && off <= prev {
			continue
		}
		if byGroup[k.group] == nil {
			byGroup[k.group] = map[string][]kgo.OffsetCommit{}
		}
		byGroup[k.group][k.topic] = append(byGroup[k.group][k.topic], kgo.OffsetCommit{Partition: k.partition, Offset: off})
	}
	for group, topics := range byGroup {
		if err := send(group, topics); err != nil {
			return err
		}
		noteCommitted(group, topics) // metrics.go: commits, committed offsets
		for topic, cs := range topics {
			for _, c := range cs {
				t.sent[sentKey{group, topic, c.Partition}] = c.Offset
			}
		}
	}
	return nil
}

type partKey struct {
	group, topic string
	partition    int
	base         int64
}

type partState struct {
	next      int64           // first offset not known to be done; commits carry this value
	pending   map[int64]int64 // From -> Offset of done spans not yet joined to next
	committed int64           // highest commit handed out by Done
}

// Done marks o's span written. It returns the partition's new commit point (the next
// offset to consume) and whether it moved past every commit returned before.
func (t *OffsetTracker) Done(o Origin) (commit int64, advanced bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.parts == nil {
		t.parts = map[partKey]*partState{}
	}
	k := partKey{o.Group, o.Topic, o.Partition, o.Base}
	p := t.parts[k]
	if p == nil {
		p = &partState{next: o.Base, pending: map[int64]int64{}, committed: o.Base}
		t.parts[k] = p
	}
	if o.Offset < p.next { // a duplicate of a span already joined
		return p.next, false
	}
	from := max(o.From, p.next) // a span re-read after a split may start below the commit point
	if old, ok := p.pending[from]; !ok || o.Offset > old {
		p.pending[from] = o.Offset
	}
	for {
		to, ok := p.pending[p.next]
		if !ok {
			break
		}
		delete(p.pending, p.next)
		p.next = to + 1
	}
	if p.next > p.committed {
		p.committed = p.next
		return p.next, true
	}
	return p.next, false
}

// Pending returns the From offsets of done spans waiting for a lower offset, sorted;
// for diagnostics and tests.
func (t *OffsetTracker) Pending(o Origin) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[partKey{o.Group, o.Topic, o.Partition, o.Base}]
	if p == nil {
		return nil
	}
	out := make([]int64, 0, len(p.pending))
	for f := range p.pending {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// processTracker is the tracker shared by every sink in this process.
var processTracker OffsetTracker
