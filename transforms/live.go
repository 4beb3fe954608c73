package transforms

import (
	"container/list"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dlmstream/asr"
	"dlmstream/connectors/kafka"
	"dlmstream/engine"
)

// Live streams. An audio input with a stream-id header is one chunk of a
// live stream (kafka.HeaderStreamID, HeaderSeq, HeaderEndOfStream): its
// audio (audio/L16 raw PCM, or a small WAV, FLAC or MP3 file) is appended
// to the stream's asr.Live, which transcribes each utterance as soon as its
// closing pause arrives. With Config.Partials, each committed block goes out
// as a partial record (the stream's transcript so far, "final": false);
// the last chunk (end-of-stream), or Config.LiveIdle without a chunk, ends
// the stream with its final record. Streams live in this process, keyed by
// model and stream id: produce a stream's chunks with one record key so
// they stay in one partition, in order (chunks that arrive out of order
// wait, up to liveMaxHeld, for the missing ones).
//
// Offsets: a chunk is acknowledged (kafka.Envelope.Ack) once the audio it
// brought is transcribed and its text is out, so a restart re-reads the
// audio still waiting in a stream's buffer instead of losing it.

// Defaults of the live-stream limits in Config.
const (
	DefaultLiveIdle       = 30 * time.Second
	DefaultMaxLiveStreams = 256
	liveMaxHeld           = 64 // out-of-order chunks a stream keeps before skipping the gap
)

// Reasons a live stream's final record gives in "ended".
const (
	EndedEndOfStream = "end-of-stream"
	EndedIdle        = "idle"
	EndedEvicted     = "evicted" // more open streams than Config.MaxLiveStreams
)

// prepareChunk validates a live chunk into t.
func prepareChunk(cfg Config, t *Task) error {
	e := t.In
	t.Stream = e.Header(kafka.HeaderStreamID)
	t.Seq = -1
	if v := e.Header(kafka.HeaderSeq); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return reject(StageDecode, ReasonInvalidRequestBody, "stream %q: %s header %q is not a chunk number (0, 1, 2, ...)", t.Stream, kafka.HeaderSeq, v)
		}
		t.Seq = n
	}
	switch v := strings.ToLower(strings.TrimSpace(e.Header(kafka.HeaderEndOfStream))); v {
	case "", "false", "0":
	case "true", "1":
		t.EndOfStream = true
	default:
		return reject(StageDecode, ReasonInvalidRequestBody, "stream %q: %s header %q is not true or false", t.Stream, kafka.HeaderEndOfStream, v)
	}
	if len(e.Value) == 0 {
		if t.EndOfStream {
			return nil // an empty last chunk only ends the stream
		}
		return reject(StageDecode, ReasonNotAudio, "stream %q chunk %d: no audio bytes", t.Stream, t.Seq)
	}
	_, info, err := decodeChunk(e.Value, e.Header(kafka.HeaderContentType), cfg.MaxAudioSeconds)
	t.Audio = info
	return err
}

// decodeChunk decodes a chunk: L16 stays at its rate (the stream's
// resampler runs across chunks), a file is decoded to 16 kHz.
func decodeChunk(data []byte, ct string, maxSeconds float64) ([]float32, AudioInfo, error) {
	if f, ok, err := asr.ParseL16(ct); ok {
		return decodeL16(data, f, err, maxSeconds)
	}
	return DecodeAudio(data, maxSeconds)
}

// liveStream is one open stream.
type liveStream struct {
	mu   sync.Mutex
	key  liveKey
	elem *list.Element // in liveStreams.lru

	live  *asr.Live
	rs    *asr.Resampler // L16 chunks at another rate -> 16 kHz
	rate  int            // L16 rate the resampler was made for
	next  int64          // next chunk number taken
	held  map[int64]Task // chunks that came early
	acks  []liveAck      // chunks whose audio is not transcribed yet
	last  kafka.Envelope // the latest chunk: key and headers of the stream's records
	info  AudioInfo      // from the first chunk; Seconds and Samples summed
	taken int            // chunks taken
	seen  atomic.Int64   // when the latest chunk came, Unix ns (read without mu)
	done  bool
}

// liveAck is a chunk's acknowledgement, due once the stream's transcribed
// audio reaches end samples.
type liveAck struct {
	ack kafka.Envelope
	end int
}

// liveKey names a stream: its id within the topic and consumer group it
// is read from (two jobs in one process never share a stream), per model.
type liveKey struct{ model, group, topic, stream string }

// liveStreams holds the process's open streams, least recently used first.
var liveStreams = struct {
	sync.Mutex
	m   map[liveKey]*liveStream
	lru list.List
}{m: map[liveKey]*liveStream{}}

// openStream returns t's stream, created if new; evicted are streams
// pushed out to keep cfg.MaxLiveStreams (their final records are the
// caller's to make).
func openStream(cfg Config, rec *asr.Recognizer, t Task) (st *liveStream, evicted []*liveStream) {
	k := liveKey{cfg.Model, t.In.Origin.Group, t.In.Origin.Topic, t.Stream}
	liveStreams.Lock()
	defer liveStreams.Unlock()
	if st = liveStreams.m[k]; st != nil {
		liveStreams.lru.MoveToBack(st.elem)
		return st, nil
	}
	for liveStreams.lru.Len() >= cfg.maxLiveStreams() {
		old := liveStreams.lru.Remove(liveStreams.lru.Front()).(*liveStream)
		delete(liveStreams.m, old.key)
		evicted = append(evicted, old)
	}
	// A stream starts at chunk 0 whichever chunk comes first: a runner may
	// hand a partition's records to several bundles at once (split reads),
	// so chunk 8 can arrive before chunk 0.
	st = &liveStream{key: k, live: rec.NewLive(asr.Options{Prior: asr.CTCPrior{}}), held: map[int64]Task{}}
	st.seen.Store(time.Now().UnixNano())
	st.elem = liveStreams.lru.PushBack(st)
	liveStreams.m[k] = st
	return st, evicted
}

// closeStream removes st from the registry (if it is still there).
func closeStream(st *liveStream) {
	liveStreams.Lock()
	defer liveStreams.Unlock()
	if liveStreams.m[st.key] == st {
		delete(liveStreams.m, st.key)
		liveStreams.lru.Remove(st.elem)
	}
}

// idleStreams removes and returns the streams of model without a chunk
// since before.
func idleStreams(model string, before time.Time) []*liveStream {
	liveStreams.Lock()
	defer liveStreams.Unlock()
	var out []*liveStream
	for e := liveStreams.lru.Front(); e != nil; {
		st, next := e.Value.(*liveStream), e.Next()
		if st.key.model == model && st.seen.Load() < before.UnixNano() {
			delete(liveStreams.m, st.key)
			liveStreams.lru.Remove(e)
			out = append(out, st)
		}
		e = next
	}
	return out
}

// runLive takes chunk t into its stream and returns the records that are
// ready: acknowledgements, and the final record when the stream ends.
// partial gets the stream's transcript so far as blocks are committed.
func runLive(ctx context.Context, g Generator, cfg Config, t Task, partial func([]byte)) ([]kafka.Envelope, error) {
	cfg = cfg.withDefaults()
	e, ok := g.(*engine.Engine)
	var rec *asr.Recognizer
	var err error
	if ok {
		rec, err = asr.For(e)
	}
	if !ok || err != nil {
		return nil, reject(StageEngine, ReasonNoASREncoder, "model %s has no speech encoder: live stream %q cannot be transcribed", cfg.Model, t.Stream)
	}
	var out []kafka.Envelope
	for {
		st, evicted := openStream(cfg, rec, t)
		for _, old := range evicted {
			out = append(out, old.finish(ctx, cfg, EndedEvicted, nil)...)
		}
		recs, ended, err := st.take(ctx, cfg, t, partial)
		if !ended { // else the stream ended while t waited: t opens a new one
			return append(out, recs...), err
		}
	}
}

// take adds chunk t (and the early chunks it lets through) to the stream;
// ended reports that the stream had ended (idle, evicted) before t got in.
func (st *liveStream) take(ctx context.Context, cfg Config, t Task, partial func([]byte)) (out []kafka.Envelope, ended bool, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return nil, true, nil
	}
	st.seen.Store(time.Now().UnixNano())
	seq := t.Seq
	if seq < 0 {
		seq = st.next
	}
	switch {
	case seq < st.next: // a chunk already taken (a redelivery)
		return ackOf(t), false, nil
	case seq > st.next:
		st.held[seq] = t
		if len(st.held) <= liveMaxHeld {
			return nil, false, nil
		}
		// The missing chunks are not coming (a restart re-read the stream
		// from a later committed offset): go on without them.
		st.next = minKey(st.held)
	default:
		st.held[seq] = t
	}
	out, err = st.pushHeld(ctx, cfg, partial, false)
	return out, false, err
}

// pushHeld pushes the held chunks that are next in order; with gaps, all of
// them in order, skipping the missing ones.
func (st *liveStream) pushHeld(ctx context.Context, cfg Config, partial func([]byte), gaps bool) ([]kafka.Envelope, error) {
	var out []kafka.Envelope
	for len(st.held) > 0 && !st.done {
		c, ok := st.held[st.next]
		if !ok {
			if !gaps {
				break
			}
			st.next = minKey(st.held)
			continue
		}
		delete(st.held, st.next)
		st.next++
		recs, err := st.push(ctx, cfg, c, partial)
		out = append(out, recs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func minKey(m map[int64]Task) int64 {
	first := true
	var k int64
	for s := range m {
		if first || s < k {
			k, first = s, false
		}
	}
	return k
}

// ackOf is the acknowledgement of t's input, if it takes part in commits.
func ackOf(t Task) []kafka.Envelope {
	if !t.In.Origin.Committable() {
		return nil
	}
	return []kafka.Envelope{t.In.Ack()}
}

// push transcribes chunk c's audio into the stream.
func (st *liveStream) push(ctx context.Context, cfg Config, c Task, partial func([]byte)) ([]kafka.Envelope, error) {
	if c.RejectReason != "" {
		return nil, nil // dead-lettered on arrival: only its place in the stream is taken
	}
	x, info, err := decodeChunk(c.In.Value, c.In.Header(kafka.HeaderContentType), cfg.MaxAudioSeconds)
	if err != nil && !(len(c.In.Value) == 0 && c.EndOfStream) {
		return ackOf(c), err
	}
	if info.Format == "l16" && info.SourceRate != TargetSampleRate {
		if st.rs == nil || st.rate != info.SourceRate {
			if st.rs, err = asr.NewResampler(info.SourceRate, TargetSampleRate); err != nil {
				return ackOf(c), audioRejection(err, len(c.In.Value))
			}
			st.rate = info.SourceRate
		}
		x = st.rs.Process(nil, x)
	}
	if st.taken == 0 {
		st.info = info
		st.info.Seconds, st.info.Samples = 0, 0
	}
	st.taken++
	st.info.Seconds += info.Seconds
	st.info.Samples += len(x)
	st.info.Peak = max(st.info.Peak, info.Peak)
	st.last = c.In
	st.setStream(cfg, partial)
	if c.EndOfStream {
		if st.rs != nil {
			x = st.rs.Flush(x)
		}
		if _, err := st.live.Write(ctx, x); err != nil {
			return ackOf(c), err
		}
		return st.finish(ctx, cfg, EndedEndOfStream, &c), nil
	}
	if _, err := st.live.Write(ctx, x); err != nil {
		return ackOf(c), err
	}
	if c.In.Origin.Committable() {
		st.acks = append(st.acks, liveAck{ack: c.In.Ack(), end: st.live.Received()})
	}
	return st.due(), nil
}

// setStream points the stream's block callback at this call's partial.
func (st *liveStream) setStream(cfg Config, partial func([]byte)) {
	if partial == nil {
		st.live.SetStream(nil)
		return
	}
	var cur strings.Builder
	id := st.last.Header(kafka.HeaderRequestID)
	st.live.SetStream(func(p asr.Partial) {
		if p.Final {
			cur.Reset()
			return
		}
		cur.WriteString(p.Text)
		text := strings.Join(strings.Fields(st.live.Text()+" "+cur.String()), " ")
		if b, err := json.Marshal(Output{RequestID: id, Task: KindTranscribe, Text: text, Model: cfg.Model, StreamID: st.key.stream}); err == nil {
			partial(b)
		}
	})
}

// due returns the acknowledgements whose audio is transcribed.
func (st *liveStream) due() []kafka.Envelope {
	final := st.live.Final()
	var out []kafka.Envelope
	i := 0
	for ; i < len(st.acks) && st.acks[i].end <= final; i++ {
		out = append(out, st.acks[i].ack)
	}
	st.acks = st.acks[i:]
	return out
}

// finish ends the stream: the rest of its audio is transcribed and its
// final record made (from chunk end when it has one: that record carries
// its offset), with every acknowledgement still due.
func (st *liveStream) finish(ctx context.Context, cfg Config, ended string, end *Task) []kafka.Envelope {
	if end == nil { // called from outside take
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	if st.done {
		return nil
	}
	var out []kafka.Envelope
	if end == nil && len(st.held) > 0 { // ended from outside: the early chunks still count
		recs, err := st.pushHeld(ctx, cfg, nil, true)
		out = append(out, recs...)
		if err != nil {
			out = append(out, st.last.DeadLetter(cfg.DeadLetterTopic, StageEngine, ReasonEngineError, err))
		}
		if st.done { // a held end-of-stream chunk ended it
			return out
		}
	}
	st.done = true
	closeStream(st)
	start := time.Now()
	st.live.SetStream(nil)
	tr, err := st.live.Close(ctx)
	for _, a := range st.acks {
		out = append(out, a.ack)
	}
	st.acks = nil
	in := st.last
	if end != nil {
		in = end.In
	} else {
		in.Origin = kafka.Origin{} // acknowledged above
	}
	if err != nil {
		dl := in.DeadLetter(cfg.DeadLetterTopic, StageEngine, ReasonEngineError, err)
		dl.Value = nil // the audio is spread over the stream's chunks
		return append(out, dl)
	}
	took := time.Since(start)
	info := st.info
	o := Output{RequestID: in.Header(kafka.HeaderRequestID), Task: KindTranscribe, Text: tr.Text, Tokens: tr.Tokens,
		Forwards: tr.Forwards, EngineMS: float64((tr.Encode + tr.Decode).Microseconds()) / 1000, Model: cfg.Model,
		Prior: tr.Prior, Audio: &info, Final: true, StreamID: st.key.stream, Chunks: st.taken, Ended: ended}
	for _, s := range tr.Segments {
		o.Segments = append(o.Segments, Segment{Start: s.Start, End: s.End, Text: s.Text})
	}
	b, _ := json.Marshal(o)
	r := in.Result(cfg.OutputTopic, b).WithHeader(kafka.HeaderContentType, "application/json")
	return append(out, r.WithHeader("engine-ms", took.String()))
}

// endIdle ends model's streams idle for longer than cfg.LiveIdle.
func endIdle(ctx context.Context, cfg Config) []kafka.Envelope {
	cfg = cfg.withDefaults()
	var out []kafka.Envelope
	for _, st := range idleStreams(cfg.Model, time.Now().Add(-cfg.liveIdle())) {
		out = append(out, st.finish(ctx, cfg, EndedIdle, nil)...)
	}
	return out
}
