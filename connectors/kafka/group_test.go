package kafka

import (
	"strings"
	"testing"

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
