// Package kafka holds the Kafka connectors of dlmstream's Beam pipelines, built on
// github.com/segmentio/kafka-go (Beam's Go kafkaio is cross-language and needs a Java
// expansion service; it does not run on prism).
//
// # Reading
//
// [ReadBounded] and [ReadUnbounded] are splittable DoFns with one restriction per
// partition offset range. The bounded variant reads from the start position up to the
// partition's high watermark at job start and never returns a ProcessContinuation, so a
// batch job stays a batch job. The unbounded variant returns a ProcessContinuation,
// checkpoints after every poll, and keeps a watermark from record timestamps (the wall
// clock once it has caught up).
//
// # Writing and delivery
//
// [Write] is a sink with keys and headers, batching and retries. Every [Envelope] read
// by a source carries its [Origin]; when the sink has written an element's result (to the
// output topic or the dead-letter topic) it marks the origin's offset span done in an
// [OffsetTracker], and commits a partition's offset to the consumer group only when every
// lower offset of that partition has its result written. That makes delivery
// at-least-once: a crash loses no input, and the inputs after the last commit are
// processed again (duplicates are possible, gaps are not). On Flink or Dataflow the
// runner's checkpoint of the restriction is the source of truth; the group commit is
// what a restarted job starts from.
//
// # Dead letters
//
// Inputs that cannot be decoded or processed are not dropped: transforms turn them into
// dead-letter envelopes ([DeadLetter]) that keep the original bytes and headers and add
// [HeaderErrorStage], [HeaderErrorReason] and [HeaderError]; the pipeline writes them to
// the dead-letter topic through the same sink.
//
// # Limits
//
// Commits follow a chain of offset spans (each element covers the offsets from the one
// after its predecessor in the same read up to its own). A runner-initiated split of a
// bounded restriction right after an offset gap (compacted or transactional topics) can
// stall commits at that point until the next run; that costs duplicates, never data.
package kafka
