package transforms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/engine"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// echoEngine is a deterministic test double for the engine: it answers with the last
// line of the user turn, fails requests whose ID starts with "fail", and reports
// ErrBusy for the first `busy` calls.
type echoEngine struct {
	busy  atomic.Int64
	calls atomic.Int64
}

func (e *echoEngine) Generate(ctx context.Context, req engine.Request) (engine.Result, error) {
	e.calls.Add(1)
	if e.busy.Add(-1) >= 0 {
		return engine.Result{}, engine.ErrBusy
	}
	if strings.HasPrefix(req.ID, "fail") {
		return engine.Result{}, errors.New("engine says no")
	}
	user := req.Messages[len(req.Messages)-1].Content
	lines := strings.Split(user, "\n")
	return engine.Result{ID: req.ID, Text: "echo: " + lines[len(lines)-1], Tokens: 3, Forwards: 2, Elapsed: time.Millisecond}, nil
}

func TestRunRetriesBusyAndFormatsOutput(t *testing.T) {
	g := &echoEngine{}
	g.busy.Store(3)
	in := kafka.Envelope{Value: []byte("Dune, 1965")}.WithHeader(kafka.HeaderRequestID, "r1").
		WithHeader(kafka.HeaderSchema, `{"type":"object"}`)
	task, err := Prepare(Config{}, KindExtract, in)
	if err != nil {
		t.Fatal(err)
	}
	value, _, err := Run(context.Background(), g, Config{Model: "m"}, task)
	if err != nil {
		t.Fatal(err)
	}
	var out Output
	if err := json.Unmarshal(value, &out); err != nil {
		t.Fatal(err)
	}
	want := Output{RequestID: "r1", Task: KindExtract, Text: "echo: Dune, 1965", Tokens: 3, Forwards: 2, EngineMS: 1, Model: "m", Final: true}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("output = %+v, want %+v", out, want)
	}
	if got := g.calls.Load(); got != 4 {
		t.Fatalf("engine called %d times, want 4 (3 busy + 1)", got)
	}
}

func init() {
	register.Function1x1[kafka.Envelope, string](summarize)
}

// summarize renders a result or dead letter as "request-id reason-or-text".
func summarize(e kafka.Envelope) string {
	if r := e.Header(kafka.HeaderErrorReason); r != "" {
		return e.Header(kafka.HeaderRequestID) + " dlq " + e.Header(kafka.HeaderErrorStage) + "/" + r + " -> " + e.Topic
	}
	var out Output
	if err := json.Unmarshal(e.Value, &out); err != nil {
		return "bad json: " + err.Error()
	}
	return fmt.Sprintf("%s ok %s %q -> %s", out.RequestID, out.Task, out.Text, e.Topic)
}

var registerOnce sync.Once

// TestPipelines runs each composite on prism over good and bad inputs with the test double.
func TestPipelines(t *testing.T) {
	registerOnce.Do(func() { RegisterGenerator("test:echo", &echoEngine{}) })
	cfg := Config{Model: "test:echo", OutputTopic: "out", DeadLetterTopic: "dlq"}
	wav := makeWAV(1, 16, 22050, 2, sine(300, 22050, 22050, 2, 0.3))
	png := encode(t, "png", testImage(40, 20))
	mk := func(id, ct string, v []byte, hs ...string) kafka.Envelope {
		e := kafka.Envelope{Value: v}.WithHeader(kafka.HeaderRequestID, id).WithHeader(kafka.HeaderContentType, ct)
		for i := 0; i+1 < len(hs); i += 2 {
			e = e.WithHeader(hs[i], hs[i+1])
		}
		return e
	}
	tests := []struct {
		name string
		fn   func(beam.Scope, Config, beam.PCollection) (beam.PCollection, beam.PCollection)
		in   []kafka.Envelope
		want []string
	}{
		{"transcribe", Transcribe, []kafka.Envelope{
			mk("a1", "audio/wav", wav, kafka.HeaderDraftTranscript, "helo wrld"),
			mk("a2", "audio/wav", []byte("nope")),
			mk("fail-a3", "audio/wav", wav, kafka.HeaderDraftTranscript, "x"),
			mk("a4", "audio/wav", wav), // a text model without a draft to correct
		}, []string{
			`a1 ok transcribe "echo: Draft transcript: helo wrld" -> out`,
			"a2 dlq decode/not-audio -> dlq",
			"fail-a3 dlq engine/engine-error -> dlq",
			"a4 dlq engine/no-asr-encoder -> dlq",
		}},
		{"caption", Caption, []kafka.Envelope{
			mk("i1", "image/png", png),
			mk("i2", "image/png", pngClaiming(t, 100000, 100000)),
		}, []string{
			`i1 ok caption "echo: Caption this image. Known about it: PNG image, 40x20 pixels after EXIF orientation, mean colour RGB(0.50, 0.00, 0.50). (No vision encoder is loaded yet: only this description reaches the model.)" -> out`,
			"i2 dlq decode/too-many-pixels -> dlq",
		}},
		{"extract", Extract, []kafka.Envelope{
			mk("t1", "text/plain", []byte("Dune, 1965"), kafka.HeaderSchema, `{"type":"object"}`),
			mk("t2", "text/plain", []byte("Dune"), kafka.HeaderSchema, `{"type":1}`),
		}, []string{
			`t1 ok extract "echo: Dune, 1965" -> out`,
			"t2 dlq decode/invalid-schema -> dlq",
		}},
	}
	for _, inFlight := range []int{1, 4} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/inflight=%d", tt.name, inFlight), func(t *testing.T) {
				cfg := cfg
				cfg.MaxInFlight = inFlight
				p, s := beam.NewPipelineWithRoot()
				col := beam.CreateList(s, tt.in)
				ok, failed := tt.fn(s, cfg, col)
				all := beam.ParDo(s, summarize, beam.Flatten(s, ok, failed))
				want := append([]string(nil), tt.want...)
				sort.Strings(want)
				passert.Equals(s, all, beam.CreateList(s, want))
				if err := ptest.Run(p); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
