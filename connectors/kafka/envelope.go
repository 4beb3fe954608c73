package kafka

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	kgo "github.com/segmentio/kafka-go"
)

// Header names that dlmstream reads from input messages and writes to results.
const (
	// HeaderContentType is the MIME type of the value: audio/wav, image/jpeg, image/png,
	// image/gif, image/bmp, image/tiff, text/plain, application/json.
	HeaderContentType = "content-type"
	// HeaderRequestID identifies a request end to end; results and dead letters keep it.
	// Sources fill it with topic/partition/offset when the producer did not set it.
	HeaderRequestID = "request-id"
	// HeaderSchema is a JSON Schema (the document itself) for metadata extraction.
	HeaderSchema = "json-schema"
	// HeaderSchemaID names a schema registered elsewhere, for extraction.
	HeaderSchemaID = "schema-id"
	// HeaderDraftTranscript is a draft transcript that guides ASR denoising (the prior).
	HeaderDraftTranscript = "draft-transcript"
	// HeaderSidecarError says why a file input's sidecar (NAME.schema.json,
	// NAME.draft.txt; connectors/files) set no header: too large, or unreadable.
	HeaderSidecarError = "sidecar-error"

	// HeaderErrorStage names the stage that rejected a dead-lettered input (decode, engine, ...).
	HeaderErrorStage = "dlq-stage"
	// HeaderErrorReason is a short, stable reason code (not-audio, truncated, too-large, ...).
	HeaderErrorReason = "dlq-reason"
	// HeaderError is the full error text.
	HeaderError = "dlq-error"
	// HeaderTruncated marks a dead letter whose value was cut to fit
	// MaxDeadLetterBytes: how many bytes were kept of how many, and the
	// SHA-256 of the original value (which stays in the input topic or file).
	HeaderTruncated = "dlq-truncated"
	// HeaderSource is topic/partition/offset of the input a result or dead letter came from.
	HeaderSource = "source"

	// HeaderStreamID marks an input as one chunk of a live stream (audio
	// arriving piece by piece); chunks of one stream share it, and should
	// share the record key so they stay in one partition, in order.
	HeaderStreamID = "stream-id"
	// HeaderSeq is a chunk's position in its stream: 0, 1, 2, ...
	HeaderSeq = "seq"
	// HeaderEndOfStream ("true") marks a stream's last chunk, which may be empty.
	HeaderEndOfStream = "end-of-stream"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Origin is where an input came from. It travels with the element to its result so the
// sink can commit the input's offset once the result is written. Zero for file inputs.
type Origin struct {
	// Group is the consumer group that commits this input; empty means no commit.
	Group string
	Topic string
	// Partition and Offset of the input record.
	Partition int
	Offset    int64
	// From is the first offset this element accounts for: the offset after the previous
	// record of the same read (or the restriction start). Offsets in [From, Offset) do not exist.
	From int64
	// Base is the offset the job started reading this partition from.
	Base int64
}

// Committable reports whether the origin takes part in offset commits.
func (o Origin) Committable() bool { return o.Group != "" && o.Topic != "" }

// Envelope is one message in the pipelines: a Kafka record or a file, its headers, and
// (for inputs read from Kafka) where it came from.
type Envelope struct {
	Key     []byte
	Value   []byte
	Headers []Header
	// Topic, Partition and Offset locate the record this envelope was read from; for a
	// result, Topic is the destination topic ("" means the sink's default topic).
	Topic     string
	Partition int
	Offset    int64
	// Timestamp is the record time in Unix milliseconds.
	Timestamp int64
	Origin    Origin
	// CommitOnly marks an acknowledgement, not a record: sinks write
	// nothing for it, and a committing sink marks its Origin done. A live
	// stream's chunk is acknowledged this way once its audio is transcribed.
	CommitOnly bool
}

// Ack returns the commit-only envelope for input e (see CommitOnly).
func (e Envelope) Ack() Envelope { return Envelope{Origin: e.Origin, CommitOnly: true} }

func init() {
	beam.RegisterType(reflect.TypeOf((*Envelope)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Header)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Origin)(nil)).Elem())
}

// Header returns the value of the last header named key, or "".
func (e Envelope) Header(key string) string {
	for i := len(e.Headers) - 1; i >= 0; i-- {
		if e.Headers[i].Key == key {
			return string(e.Headers[i].Value)
		}
	}
	return ""
}

// WithHeader returns a copy of e whose header key is set to value (replacing earlier ones).
func (e Envelope) WithHeader(key, value string) Envelope {
	hs := make([]Header, 0, len(e.Headers)+1)
	for _, h := range e.Headers {
		if h.Key != key {
			hs = append(hs, h)
		}
	}
	e.Headers = append(hs, Header{Key: key, Value: []byte(value)})
	return e
}

// SourceString is topic/partition/offset of the record e was read from.
func (e Envelope) SourceString() string {
	return e.Topic + "/" + strconv.Itoa(e.Partition) + "/" + strconv.FormatInt(e.Offset, 10)
}

// Time is the record time.
func (e Envelope) Time() time.Time { return time.UnixMilli(e.Timestamp) }

// Result returns the result envelope for input e: same key, headers and origin, the
// given value, addressed to topic ("" for the sink's default). Its Timestamp is zero, so
// the record gets the time it is produced (output time minus input time is the
// end-to-end latency).
func (e Envelope) Result(topic string, value []byte) Envelope {
	r := Envelope{Key: e.Key, Value: value, Headers: append([]Header(nil), e.Headers...), Topic: topic,
		Origin: e.Origin}
	if e.Topic != "" {
		r = r.WithHeader(HeaderSource, e.SourceString())
	}
	return r
}

// MaxDeadLetterBytes bounds a dead letter's key, value and headers together
// so it fits a topic with Kafka's default max.message.bytes (1 MiB) with
// room for the record batch: an input accepted from a file (up to
// --max-message-bytes, 16 MiB) or rejected for its size would otherwise be
// refused by the dead-letter topic and stall the stream.
const MaxDeadLetterBytes = 960 << 10

// maxErrorHeader bounds the error text a dead letter carries.
const maxErrorHeader = 4 << 10

// DeadLetter returns the dead-letter envelope for input e: the original key, value and
// headers plus the error headers, addressed to topic. A value that would take the
// record past MaxDeadLetterBytes keeps its first bytes and gets HeaderTruncated.
func (e Envelope) DeadLetter(topic, stage, reason string, err error) Envelope {
	d := e.Result(topic, e.Value)
	d = d.WithHeader(HeaderErrorStage, stage).WithHeader(HeaderErrorReason, reason)
	if err != nil {
		msg := err.Error()
		if len(msg) > maxErrorHeader {
			msg = strings.ToValidUTF8(msg[:maxErrorHeader], "") + " [cut]"
		}
		d = d.WithHeader(HeaderError, msg)
	}
	return d.fitDeadLetter()
}

// fitDeadLetter cuts d's value so that the record is at most
// MaxDeadLetterBytes, marking the cut in HeaderTruncated (whose own size is
// reserved first).
func (d Envelope) fitDeadLetter() Envelope {
	const marker = 160 // "kept the first N of M bytes; sha256 <64 hex>" and its key
	size := len(d.Key) + len(d.Value)
	for _, h := range d.Headers {
		size += len(h.Key) + len(h.Value)
	}
	if size <= MaxDeadLetterBytes {
		return d
	}
	keep := max(len(d.Value)-(size-MaxDeadLetterBytes)-marker, 0)
	sum := sha256.Sum256(d.Value)
	note := fmt.Sprintf("kept the first %d of %d bytes; sha256 %x", keep, len(d.Value), sum)
	d.Value = d.Value[:keep:keep]
	return d.WithHeader(HeaderTruncated, note)
}

// fromMessage turns a fetched record into an envelope.
func fromMessage(m kgo.Message, group string, from, base int64) Envelope {
	e := Envelope{Key: m.Key, Value: m.Value, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
		Timestamp: m.Time.UnixMilli(),
		Origin:    Origin{Group: group, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, From: from, Base: base}}
	if len(m.Headers) > 0 {
		e.Headers = make([]Header, len(m.Headers))
		for i, h := range m.Headers {
			e.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	if e.Header(HeaderRequestID) == "" {
		e = e.WithHeader(HeaderRequestID, e.SourceString())
	}
	return e
}

// message turns an envelope into a record for topic.
func (e Envelope) message(topic string) kgo.Message {
	m := kgo.Message{Topic: topic, Key: e.Key, Value: e.Value}
	if e.Timestamp != 0 {
		m.Time = time.UnixMilli(e.Timestamp)
	}
	if len(e.Headers) > 0 {
		m.Headers = make([]kgo.Header, len(e.Headers))
		for i, h := range e.Headers {
			m.Headers[i] = kgo.Header{Key: h.Key, Value: h.Value}
		}
	}
	return m
}
