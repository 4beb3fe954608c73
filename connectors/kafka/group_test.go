package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"dlmstream/connectors/kafka/kafkatest"

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
	if err := m.commit(context.Background(), topics); err != nil { // no generation yet: nothing is this member's
		t.Fatal(err)
	}
	if len(topics) != 0 {
		t.Errorf("before a generation, left %v to be counted as sent", topics)
	}
	if memberOf("g") != nil {
		t.Error("a member registered without joining")
	}
}

// TestMemberCommitOverRebalance: a commit through a generation that has
// ended (a second member joined, and kafka-go closed the generation's
// connection) is dropped and leaves nothing counted as sent; it is not an
// error. Before, it failed with "use of closed network connection", which
// failed the sink's bundle and with it the worker's job, at any rebalance
// that met a commit in flight. A commit through the current generation is
// made.
func TestMemberCommitOverRebalance(t *testing.T) {
	tg := kafkatest.Real(t)
	topic, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "grp")
	kafkatest.CreateTopic(t, tg.Brokers, topic, 2)
	cfg := SourceConfig{Config: Config{Brokers: tg.Brokers}, Topics: []string{topic}, Group: group,
		Membership: true, SessionTimeout: 6 * time.Second}
	m, err := joinGroup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		members.mu.Lock()
		delete(members.m, group)
		members.mu.Unlock()
		close(m.done)
		m.cg.Close()
	})
	// generation waits for the member's generation to be one other than
	// not (nil: any).
	generation := func(not *kgo.Generation) (*kgo.Generation, map[topicPartition]bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			m.mu.Lock()
			gen, held := m.gen, m.held
			m.mu.Unlock()
			if gen != nil && gen != not {
				return gen, held
			}
		}
		t.Fatalf("no generation other than %v within a minute", not)
		return nil, nil
	}
	first, firstHeld := generation(nil)
	if len(firstHeld) != 2 {
		t.Fatalf("the only member holds %v, want both partitions", firstHeld)
	}
	other, err := kgo.NewConsumerGroup(kgo.ConsumerGroupConfig{ID: group, Brokers: tg.Brokers, Topics: []string{topic},
		HeartbeatInterval: time.Second, SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	second, held := generation(first) // the first generation's connection is closed by now
	topics := map[string][]kgo.OffsetCommit{topic: {{Partition: 0, Offset: 7}, {Partition: 1, Offset: 7}}}
	if err := m.commitIn(context.Background(), first, firstHeld, topics); err != nil {
		t.Fatalf("commit through the ended generation %d: %v, want it dropped", first.ID, err)
	}
	if len(topics) != 0 {
		t.Errorf("commit through the ended generation left %v to be counted as sent", topics)
	}
	if len(held) != 1 {
		t.Fatalf("generation %d holds %v, want one of two partitions", second.ID, held)
	}
	var p int
	for tp := range held {
		p = tp.partition
	}
	topics = map[string][]kgo.OffsetCommit{topic: {{Partition: p, Offset: 3}, {Partition: 1 - p, Offset: 3}}}
	if err := m.commit(context.Background(), topics); err != nil {
		t.Fatalf("commit through the current generation %d: %v", second.ID, err)
	}
	if want := []kgo.OffsetCommit{{Partition: p, Offset: 3}}; len(topics[topic]) != 1 || topics[topic][0] != want[0] {
		t.Errorf("commit through generation %d sent %v, want %v", second.ID, topics, want)
	}
	cl := &kgo.Client{Addr: kgo.TCP(tg.Brokers...), Timeout: 10 * time.Second}
	resp, err := cl.OffsetFetch(context.Background(), &kgo.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range resp.Topics[topic] {
		want := int64(-1) // never committed: the ended generation's 7 was dropped
		if part.Partition == p {
			want = 3
		}
		if part.CommittedOffset != want {
			t.Errorf("partition %d: committed offset %d, want %d", part.Partition, part.CommittedOffset, want)
		}
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
