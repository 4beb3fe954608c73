// Package embedded runs an in-process Kafka-protocol broker (github.com/twmb/franz-go/pkg/kfake)
// for local runs, the demo and fast tests. It speaks enough of the protocol for
// produce, fetch, list offsets, metadata and simple (non-member) offset commits; it keeps
// everything in memory and is gone when the process exits.
package embedded

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running in-process broker.
type Broker struct {
	c *kfake.Cluster
}

// Start starts a one-node broker on a free 127.0.0.1 port with auto-created topics of
// the given number of partitions, and the listed topics created up front.
func Start(partitions int, topics ...string) (*Broker, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(partitions)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(partitions), topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{c: c}, nil
}

// StartOnPort is Start on a fixed 127.0.0.1 port (0: a free one), with no topics up front.
func StartOnPort(port, partitions int) (*Broker, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions))
	if err != nil {
		return nil, fmt.Errorf("embedded broker on port %d: %w", port, err)
	}
	return &Broker{c: c}, nil
}

// Addrs returns the bootstrap addresses (host:port).
func (b *Broker) Addrs() []string { return b.c.ListenAddrs() }

// Close stops the broker; its data is lost.
func (b *Broker) Close() { b.c.Close() }
