package kafka_test

import (
	"fmt"

	"dlmstream/connectors/kafka"
)

// An input's offset becomes committable only when every lower offset of its partition
// has its result written; offsets that do not exist (gaps) are covered by Origin.From.
func ExampleOffsetTracker() {
	var t kafka.OffsetTracker
	done := func(from, offset int64) {
		next, advanced := t.Done(kafka.Origin{Group: "g", Topic: "in", Partition: 0, From: from, Offset: offset})
		fmt.Printf("offset %d written: commit point %d (advanced %v)\n", offset, next, advanced)
	}
	done(1, 1) // offset 0 not written yet
	done(2, 4) // offsets 2 and 3 do not exist
	done(0, 0)
	// Output:
	// offset 1 written: commit point 0 (advanced false)
	// offset 4 written: commit point 0 (advanced false)
	// offset 0 written: commit point 5 (advanced true)
}

func ExampleEnvelope_DeadLetter() {
	in := kafka.Envelope{Value: []byte("not a wav"), Topic: "audio", Partition: 2, Offset: 17}.
		WithHeader(kafka.HeaderContentType, "audio/wav")
	d := in.DeadLetter("audio-dlq", "decode", "not-audio", nil)
	fmt.Println(d.Topic, string(d.Value), d.Header(kafka.HeaderContentType), d.Header(kafka.HeaderErrorReason), d.Header(kafka.HeaderSource))
	// Output: audio-dlq not a wav audio/wav not-audio audio/2/17
}
