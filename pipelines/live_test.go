package pipelines

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"dlmstream/asr"
	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/engine"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	kgo "github.com/segmentio/kafka-go"
)

// A topic of live audio becomes a topic of live transcripts: two streams
// of 200 ms audio/L16 chunks, keyed by stream id, interleaved on a
// 2-partition topic, give partial records and one final record per stream
// whose text is what asr.Transcribe gives for the stream's whole audio, and every chunk's offset is committed once its
// audio is transcribed.
func TestLiveTranscriptionKafkaToKafka(t *testing.T) {
	model := filepath.Join("..", "testdata", "models", "demo-speech-v2")
	streams := map[string][]string{"mic-1": {"0007.wav", "0012.wav"}, "mic-2": {"0020.wav"}}
	want := map[string]string{} // asr.Transcribe on each stream's whole audio
	eng, err := engine.Shared(model, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := asr.For(eng)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []kgo.Message
	per := map[string][]kgo.Message{}
	noise := rand.New(rand.NewPCG(3, 4))
	for _, id := range []string{"mic-1", "mic-2"} {
		clips := streams[id]
		var pcm []byte
		var whole []float32
		for _, c := range clips {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "heldout", "speech", c))
			if err != nil {
				t.Fatal(err)
			}
			a, err := asr.Decode(b, asr.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for j := 0; j < 9600; j++ { // then 0.6 s of room noise
				a.Samples = append(a.Samples, float32(0.002*noise.NormFloat64()))
			}
			for _, v := range a.Samples {
				q := int16(math.Round(float64(max(-1, min(v, 32767.0/32768))) * 32768))
				pcm = binary.BigEndian.AppendUint16(pcm, uint16(q))
				whole = append(whole, float32(q)/32768)
			}
		}
		tr, err := rec.Transcribe(context.Background(), whole, asr.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = tr.Text
		for i, seq := 0, 0; i < len(pcm); i, seq = i+6400, seq+1 {
			hs := []kgo.Header{{Key: kafka.HeaderStreamID, Value: []byte(id)}, {Key: kafka.HeaderSeq, Value: []byte(strconv.Itoa(seq))},
				{Key: kafka.HeaderContentType, Value: []byte("audio/L16; rate=16000; channels=1")}}
			if i+6400 >= len(pcm) {
				hs = append(hs, kgo.Header{Key: kafka.HeaderEndOfStream, Value: []byte("true")})
			}
			per[id] = append(per[id], kgo.Message{Key: []byte(id), Value: pcm[i:min(i+6400, len(pcm))], Headers: hs})
		}
	}
	for i := 0; len(per["mic-1"])+len(per["mic-2"]) > 0; i++ {
		for _, id := range []string{"mic-1", "mic-2"} {
			if len(per[id]) > 0 {
				msgs = append(msgs, per[id][0])
				per[id] = per[id][1:]
			}
		}
	}
	for _, tg := range []func(testing.TB) kafkatest.Target{
		func(t testing.TB) kafkatest.Target { return kafkatest.Embedded(t, 2) },
		kafkatest.Real,
	} {
		t.Run("", func(t *testing.T) {
			target := tg(t)
			in, out, dlq, group := kafkatest.Topic(t, "live"), kafkatest.Topic(t, "captions"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
			for _, topic := range []string{in, out, dlq} {
				kafkatest.CreateTopic(t, target.Brokers, topic, 2)
			}
			kafkatest.Produce(t, target.Brokers, in, msgs...)
			p, s := beam.NewPipelineWithRoot()
			err := Build(s, Options{Name: Transcription, Kafka: kafka.Config{Brokers: target.Brokers}, InputTopics: []string{in},
				Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq,
				Transforms: transforms.Config{Model: model, Partials: true}})
			if err != nil {
				t.Fatal(err)
			}
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
			var finals, partials int
			deadline := time.Now().Add(20 * time.Second)
			got := map[string]string{}
			for finals < 2 && time.Now().Before(deadline) {
				finals, partials = 0, 0
				for _, m := range kafkatest.ReadAll(t, target.Brokers, out, 2, 10*time.Second) {
					var o transforms.Output
					if err := json.Unmarshal(m.Value, &o); err != nil {
						t.Fatal(err)
					}
					if string(m.Key) != o.StreamID {
						t.Errorf("record key %q for stream %q", m.Key, o.StreamID)
					}
					if o.Final {
						finals++
						got[o.StreamID] = o.Text
					} else {
						partials++
					}
				}
			}
			if finals != 2 || partials == 0 {
				t.Fatalf("%d final and %d partial records, want 2 and some", finals, partials)
			}
			for id, w := range want {
				if got[id] != w {
					t.Errorf("stream %s: %q, want %q", id, got[id], w)
				}
			}
			committed := kafkatest.Committed(t, target.Brokers, group, in, 2)
			if committed[0]+committed[1] != int64(len(msgs)) {
				t.Fatalf("committed %v, want offsets summing to %d", committed, len(msgs))
			}
			t.Logf("%d chunks -> %d partial + %d final records: %v", len(msgs), partials, finals, got)
		})
	}
}
