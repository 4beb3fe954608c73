package transforms

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dlmstream/asr"
	"dlmstream/connectors/kafka"
	"dlmstream/engine"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

var liveModel = filepath.Join("..", "testdata", "models", "demo-speech-v2")

// liveAudio is held-out clips joined by 0.6 s pauses of low noise, 16 kHz.
func liveAudio(t *testing.T, names ...string) []float32 {
	t.Helper()
	var x []float32
	for i, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "heldout", "speech", n))
		if err != nil {
			t.Fatal(err)
		}
		a, err := asr.Decode(b, asr.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, a.Samples...)
		for j := 0; j < 9600; j++ { // a deterministic, quiet hiss
			x = append(x, float32(0.003*math.Sin(float64(j*(i+7))*1.3)))
		}
	}
	return x
}

// l16 encodes x as big-endian 16-bit PCM with ch identical channels.
func l16(x []float32, ch int) []byte {
	b := make([]byte, 0, 2*ch*len(x))
	for _, v := range x {
		s := int16(max(-32768, min(32767, math.Round(float64(v)*32768))))
		for c := 0; c < ch; c++ {
			b = binary.BigEndian.AppendUint16(b, uint16(s))
		}
	}
	return b
}

// chunks cuts b into n-byte chunk records of stream id; the last has
// end-of-stream. Offsets start at off.
func chunks(id, ct string, b []byte, n int, off int64) []kafka.Envelope {
	var out []kafka.Envelope
	for i, seq := 0, 0; i < len(b); i, seq = i+n, seq+1 {
		e := kafka.Envelope{Key: []byte(id), Value: b[i:min(i+n, len(b))],
			Origin: kafka.Origin{Group: "g", Topic: "live", Offset: off, From: off}}
		e = e.WithHeader(kafka.HeaderStreamID, id).WithHeader(kafka.HeaderSeq, strconv.Itoa(seq)).
			WithHeader(kafka.HeaderContentType, ct).WithHeader(kafka.HeaderRequestID, id+"/"+strconv.Itoa(seq))
		if i+n >= len(b) {
			e = e.WithHeader(kafka.HeaderEndOfStream, "true")
		}
		out = append(out, e)
		off++
	}
	return out
}

var liveRecords sync.Map // test name -> *[]kafka.Envelope

type liveCollectFn struct {
	Name string `json:"name"`
}

func (fn *liveCollectFn) ProcessElement(e kafka.Envelope) {
	v, _ := liveRecords.LoadOrStore(fn.Name, &[]kafka.Envelope{})
	collectMu.Lock()
	defer collectMu.Unlock()
	*v.(*[]kafka.Envelope) = append(*v.(*[]kafka.Envelope), e)
}

func init() { register.DoFn1x0[kafka.Envelope](&liveCollectFn{}) }

// Live streams on prism: two streams of L16 chunks interleaved (one at
// 16 kHz mono, one at 44.1 kHz stereo with a chunk out of order, a
// redelivered chunk and a corrupt chunk) give partial records that grow
// into each stream's final record; the final text is what asr.Transcribe
// gives for the stream's whole audio; every chunk is acknowledged exactly
// once (an ack, the final record, or its dead letter).
func TestLiveStreams(t *testing.T) {
	eng, err := engine.Shared(liveModel, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := asr.For(eng)
	if err != nil {
		t.Fatal(err)
	}
	a := liveAudio(t, "0007.wav", "0012.wav", "0020.wav")
	b := liveAudio(t, "0031.wav", "0044.wav")
	want := map[string]string{}
	for id, x := range map[string][]float32{"a": a, "b": b} {
		tr, err := rec.Transcribe(context.Background(), x, asr.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = tr.Text
	}
	b44, err := asr.Resample(b, 16000, 44100)
	if err != nil {
		t.Fatal(err)
	}
	sa := chunks("a", "audio/L16; rate=16000", l16(a, 1), 6400, 0)                   // 200 ms
	sb := chunks("b", "audio/L16; rate=44100; channels=2", l16(b44, 2), 35280, 1000) // 200 ms
	sb[3], sb[4] = sb[4], sb[3]                                                      // out of order
	sa[0], sa[1] = sa[1], sa[0]                                                      // the stream's second chunk first
	bad := sb[6]
	bad.Value = bad.Value[:len(bad.Value)-1] // half a frame: a dead letter, the stream goes on
	sb[6] = bad
	var in []kafka.Envelope
	for i := 0; i < max(len(sa), len(sb)); i++ {
		if i < len(sa) {
			in = append(in, sa[i])
		}
		if i < len(sb) {
			in = append(in, sb[i])
		}
		if i == 8 {
			in = append(in, sa[2]) // a redelivery
		}
	}
	cfg := Config{Model: liveModel, OutputTopic: "out", DeadLetterTopic: "dlq", Partials: true}
	p, s := beam.NewPipelineWithRoot()
	ok, failed := Transcribe(s, cfg, beam.CreateList(s, in))
	beam.ParDo0(s, &liveCollectFn{Name: "ok"}, ok)
	beam.ParDo0(s, &liveCollectFn{Name: "failed"}, failed)
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	get := func(name string) []kafka.Envelope {
		v, _ := liveRecords.Load(name)
		if v == nil {
			return nil
		}
		return *v.(*[]kafka.Envelope)
	}
	acked := map[int64]int{}
	finals := map[string]Output{}
	partials := map[string][]string{}
	for _, e := range get("ok") {
		if e.Origin.Committable() {
			acked[e.Origin.Offset]++
		}
		if e.CommitOnly {
			continue
		}
		var o Output
		if err := json.Unmarshal(e.Value, &o); err != nil {
			t.Fatal(err)
		}
		if string(e.Key) != o.StreamID {
			t.Errorf("record key %q for stream %q", e.Key, o.StreamID)
		}
		if o.Final {
			if _, dup := finals[o.StreamID]; dup {
				t.Errorf("stream %q: two final records", o.StreamID)
			}
			finals[o.StreamID] = o
			continue
		}
		if e.Origin.Committable() || e.Header("partial") != "true" {
			t.Errorf("partial record %+v commits or is not marked", e)
		}
		partials[o.StreamID] = append(partials[o.StreamID], o.Text)
	}
	dl := get("failed")
	if len(dl) != 1 || dl[0].Header(kafka.HeaderErrorReason) != ReasonTruncated || len(dl[0].Value) != len(bad.Value) {
		for _, d := range dl {
			t.Errorf("dead letter %s: %s (%d bytes)", d.Header(kafka.HeaderRequestID), d.Header(kafka.HeaderError), len(d.Value))
		}
		t.Fatalf("%d dead letters: want the corrupt chunk, truncated, with its bytes", len(dl))
	}
	acked[dl[0].Origin.Offset]++
	for _, e := range append(sa, sb...) {
		n := acked[e.Origin.Offset]
		if e.Origin.Offset == sa[2].Origin.Offset {
			n-- // redelivered: acknowledged twice
		}
		if n != 1 {
			t.Errorf("chunk %s (offset %d) acknowledged %d times", e.Header(kafka.HeaderRequestID), e.Origin.Offset, acked[e.Origin.Offset])
		}
	}
	for id, w := range want {
		f, ok := finals[id]
		if !ok {
			t.Fatalf("stream %q: no final record", id)
		}
		if id == "a" && f.Text != w {
			t.Errorf("stream a: live %q, whole %q", f.Text, w)
		}
		if f.Ended != EndedEndOfStream || f.Audio == nil || f.Audio.Format != "l16" {
			t.Errorf("stream %s final record %+v", id, f)
		}
		if len(partials[id]) == 0 {
			t.Errorf("stream %s: no partial records", id)
		}
		for _, p := range partials[id] {
			if !strings.HasPrefix(f.Text, p) {
				t.Errorf("stream %s: partial %q is not a prefix of the final %q", id, p, f.Text)
			}
		}
		t.Logf("stream %s: %d chunks, %d partials, %d segments, final %q (whole audio: %q)", id, f.Chunks, len(partials[id]), len(f.Segments), f.Text, w)
	}
	if finals["a"].Chunks != len(sa) || finals["b"].Chunks != len(sb)-1 {
		t.Errorf("chunks %d, %d; want %d, %d", finals["a"].Chunks, finals["b"].Chunks, len(sa), len(sb)-1)
	}
	// Stream b lost 200 ms to the corrupt chunk; its text is still the
	// speech's where that chunk fell in a pause or shortly before.
	var c asr.Corpus
	c.Add(want["b"], finals["b"].Text)
	if c.WER() > 0.5 {
		t.Errorf("stream b: %q, whole audio %q", finals["b"].Text, want["b"])
	}
}

// A stream that stops getting chunks ends after Config.LiveIdle with a
// final record of what it heard; past Config.MaxLiveStreams the least
// recently fed stream ends ("evicted"). Acknowledgements of every chunk
// come out with the final records.
func TestLiveIdleAndEviction(t *testing.T) {
	g, err := engine.Shared(liveModel, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := liveAudio(t, "0007.wav")
	// Its own model name: the stream registry is per process and model, and
	// other tests' streams must not count against MaxLiveStreams.
	RegisterGenerator("live-idle-test", g)
	cfg := Config{Model: "live-idle-test", OutputTopic: "out", DeadLetterTopic: "dlq", MaxLiveStreams: 1, LiveIdle: time.Hour}
	take := func(c kafka.Envelope) []kafka.Envelope {
		task, err := Prepare(cfg, KindTranscribe, c)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := runLive(context.Background(), g, cfg, task, nil)
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	feed := func(id string, off int64) int {
		cs := chunks(id, "audio/L16; rate=16000", l16(x, 1), 8000, off)
		cs = cs[:len(cs)-1] // never ended
		for _, c := range cs {
			for _, r := range take(c) {
				if !r.CommitOnly {
					t.Fatalf("stream %s: record %s before the stream ends", id, r.Value)
				}
			}
		}
		return len(cs)
	}
	check := func(recs []kafka.Envelope, id, ended string, n int, text bool) {
		t.Helper()
		var final *Output
		acks := 0
		for _, r := range recs {
			if r.CommitOnly {
				acks++
				continue
			}
			var o Output
			if err := json.Unmarshal(r.Value, &o); err != nil {
				t.Fatal(err)
			}
			if r.Origin.Committable() {
				t.Errorf("stream %s: final record commits %+v (its chunks are acknowledged)", id, r.Origin)
			}
			final = &o
		}
		if final == nil || final.StreamID != id || final.Ended != ended || !final.Final || (final.Text != "") != text || final.Chunks != n {
			t.Fatalf("stream %s: final %+v, want ended %s after %d chunks (text: %v)", id, final, ended, n, text)
		}
		if acks > n {
			t.Errorf("stream %s: %d acknowledgements for %d chunks", id, acks, n)
		}
	}
	n := feed("idle-1", 0)
	if recs := endIdle(context.Background(), cfg); len(recs) != 0 {
		t.Fatalf("ended a fresh stream: %v", recs)
	}
	cfg.LiveIdle = time.Nanosecond
	time.Sleep(time.Millisecond)
	check(endIdle(context.Background(), cfg), "idle-1", EndedIdle, n, true)
	cfg.LiveIdle = time.Hour
	feed("evict-1", 100)
	// A second stream pushes the first out (MaxLiveStreams 1).
	check(take(chunks("evict-2", "audio/L16; rate=16000", l16(x, 1), 8000, 200)[0]), "evict-1", EndedEvicted, n, true)
	cfg.LiveIdle = time.Nanosecond
	time.Sleep(time.Millisecond)
	check(endIdle(context.Background(), cfg), "evict-2", EndedIdle, 1, false) // 0.25 s: not a word yet
	// A stream whose first chunk never comes (a restart re-read it from a
	// later offset) waits for it, and its idle end still transcribes the rest.
	cfg.LiveIdle = time.Hour
	cs := chunks("late", "audio/L16; rate=16000", l16(x, 1), 8000, 300)
	cs = cs[1 : len(cs)-1]
	for _, c := range cs {
		if recs := take(c); len(recs) != 0 {
			t.Fatalf("chunk %s: %d records while chunk 0 is missing", c.Header(kafka.HeaderSeq), len(recs))
		}
	}
	cfg.LiveIdle = time.Nanosecond
	time.Sleep(time.Millisecond)
	check(endIdle(context.Background(), cfg), "late", EndedIdle, len(cs), true)
}

// Bad chunk headers and bytes are dead letters naming the problem.
func TestPrepareChunk(t *testing.T) {
	cfg := Config{Model: "m", DeadLetterTopic: "dlq", MaxAudioSeconds: 1}
	base := kafka.Envelope{Value: []byte{0, 1, 0, 2}}.WithHeader(kafka.HeaderStreamID, "s").WithHeader(kafka.HeaderContentType, "audio/L16; rate=16000")
	cases := []struct {
		name   string
		e      kafka.Envelope
		reason string
	}{
		{"ok", base.WithHeader(kafka.HeaderSeq, "3"), ""},
		{"no seq", base, ""},
		{"empty end", kafka.Envelope{}.WithHeader(kafka.HeaderStreamID, "s").WithHeader(kafka.HeaderEndOfStream, "true"), ""},
		{"bad seq", base.WithHeader(kafka.HeaderSeq, "-1"), ReasonInvalidRequestBody},
		{"seq text", base.WithHeader(kafka.HeaderSeq, "first"), ReasonInvalidRequestBody},
		{"bad end", base.WithHeader(kafka.HeaderEndOfStream, "maybe"), ReasonInvalidRequestBody},
		{"empty chunk", kafka.Envelope{}.WithHeader(kafka.HeaderStreamID, "s"), ReasonNotAudio},
		{"half frame", kafka.Envelope{Value: []byte{1, 2, 3}}.WithHeader(kafka.HeaderStreamID, "s").WithHeader(kafka.HeaderContentType, "audio/L16; rate=16000"), ReasonTruncated},
		{"no rate", base.WithHeader(kafka.HeaderContentType, "audio/L16"), ReasonUnsupportedFormat},
		{"wav chunk not audio", kafka.Envelope{Value: []byte("hello")}.WithHeader(kafka.HeaderStreamID, "s"), ReasonNotAudio},
		{"too long", kafka.Envelope{Value: make([]byte, 2*16000*2)}.WithHeader(kafka.HeaderStreamID, "s").WithHeader(kafka.HeaderContentType, "audio/L16; rate=16000"), ReasonTooLong},
	}
	for _, c := range cases {
		task, err := Prepare(cfg, KindTranscribe, c.e)
		got := ""
		if err != nil {
			got = AsRejection(err, StageDecode).Reason
		}
		if got != c.reason {
			t.Errorf("%s: reason %q (%v), want %q", c.name, got, err, c.reason)
		}
		if err == nil && task.Stream != "s" {
			t.Errorf("%s: task stream %q", c.name, task.Stream)
		}
	}
}
