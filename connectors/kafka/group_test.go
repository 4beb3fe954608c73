package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	kgo "github.com/segmentio/kafka-go"
)

// TestMembershipValidate: membership needs a group and starts at the
// group's committed offsets.
func TestMembershipValidate(t *testing.T) {
	base := SourceConfig{Config: Config{Brokers: []string{"b:9092"}}, Topics: []string{"in"}, Membership: true}
	for _, c := range []struct {
		name  string
		mod   func(*SourceConfig)
		valid string // "" valid, else a part of the error
	}{
		{"group", func(c *SourceConfig) { c.Group = "g" }, ""},
		{"earliest where none committed", func(c *SourceConfig) { c.Group, c.Start = "g", StartEarliest }, ""},
		{"no group", func(c *SourceConfig) { c.Start = StartEarliest }, "membership needs a group"},
		{"timestamp", func(c *SourceConfig) { c.Group, c.Start, c.StartTime = "g", StartTimestamp, 1 }, "start=timestamp"},
	} {
		cfg := base
		c.mod(&cfg)
		err := cfg.Validate()
		if (err == nil) != (c.valid == "") || (err != nil && !strings.Contains(err.Error(), c.valid)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.valid)
		}
	}
}

// TestMemberCommitsOnlyHeld: a member commits nothing before its first
// generation, and removes from the request every partition it does not
// hold, so the tracker does not count those as sent.
func TestMemberCommitsOnlyHeld(t *testing.T) {
	m := &member{cfg: SourceConfig{Group: "g"}, held: map[topicPartition]bool{{"in", 1}: true}}
	topics := map[string][]kgo.OffsetCommit{"in": {{Partition: 0, Offset: 5}, {Partition: 1, Offset: 9}}, "other": {{Partition: 0, Offset: 3}}}
	if err := m.commit(topics); err != nil { // no generation yet: nothing is this member's
		t.Fatal(err)
	}
	if len(topics) != 0 {
		t.Errorf("before a generation, left %v to be counted as sent", topics)
	}
	if memberOf("g") != nil {
		t.Error("a member registered without joining")
	}
}

// TestGroupReadSplitKeepsRecords: the runner may split the membership
// source's restriction while a call waits for records (prism does when a
// bundle shows no progress for a tick). The call then ends at the split
// point, and every record fetched reaches a call: none is taken from the
// member's buffer and dropped when the claim is refused. Before, each
// split lost one record, which never got a result and held back its
// partition's commits.
func TestGroupReadSplitKeepsRecords(t *testing.T) {
	const group, n = "split-keeps-records", 5
	m := &member{cfg: SourceConfig{Group: group}, recs: make(chan groupRecord, n), done: make(chan struct{}),
		gen: &kgo.Generation{ID: 1}, held: map[topicPartition]bool{{"in", 0}: true}}
	m.touch()
	for i := range n {
		m.recs <- groupRecord{m: kgo.Message{Topic: "in", Offset: int64(i), Value: []byte{byte(i)}}, gen: 1, from: int64(i)}
	}
	members.mu.Lock()
	members.m[group] = m
	members.mu.Unlock()
	t.Cleanup(func() {
		members.mu.Lock()
		delete(members.m, group)
		members.mu.Unlock()
	})
	fn := &groupReadFn{Cfg: SourceConfig{Config: Config{Brokers: []string{"b:9092"}}, Topics: []string{"in"}, Group: group,
		Membership: true, PollFor: 200 * time.Millisecond, MaxWait: 50 * time.Millisecond}}
	var got []int64
	rest := fn.CreateInitialRestriction(nil)
	for call := 0; call < 2*n && len(got) < n; call++ {
		rt := fn.CreateTracker(rest)
		var residual any
		emit := func(_ beam.EventTime, e Envelope) {
			got = append(got, e.Origin.Offset)
			if residual == nil { // split at once after each call's first record, as the runner does
				var err error
				if _, residual, err = rt.TrySplit(0.5); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := fn.ProcessElement(context.Background(), fn.CreateWatermarkEstimator(), rt, nil, emit); err != nil {
			t.Fatal(err)
		}
		if residual == nil {
			break
		}
		rest = residual.(offsetrange.Restriction)
	}
	if len(got) != n {
		t.Fatalf("records emitted over the split calls: offsets %v, want all %d", got, n)
	}
	for i, off := range got {
		if off != int64(i) {
			t.Fatalf("offsets %v, want 0..%d in order", got, n-1)
		}
	}
}
