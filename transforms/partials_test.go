package transforms

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"dlmstream/connectors/kafka"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// collected gathers a test pipeline's records in this process (prism runs
// the DoFns in-process), keyed by test name.
var collected sync.Map // name -> *[]string

type collectFn struct {
	Name string `json:"name"`
}

var collectMu sync.Mutex

func (fn *collectFn) ProcessElement(e kafka.Envelope) {
	var o Output
	_ = json.Unmarshal(e.Value, &o)
	v, _ := collected.LoadOrStore(fn.Name, &[]string{})
	collectMu.Lock()
	defer collectMu.Unlock()
	line, _ := json.Marshal(map[string]any{"id": o.RequestID, "text": o.Text, "final": o.Final, "partial": e.Header("partial"), "key": string(e.Key), "committable": e.Origin.Committable()})
	*v.(*[]string) = append(*v.(*[]string), string(line))
}

func init() { register.DoFn1x0[kafka.Envelope](&collectFn{}) }

// With Config.Partials, a caption and a transcript go out block by block:
// partial records (same key, final false, the text so far, no offset to
// commit), then the final record; the partial texts grow to the final one.
func TestPartialRecords(t *testing.T) {
	root := filepath.Join("..", "testdata")
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name, model, ct string
		data            []byte
		fn              func(beam.Scope, Config, beam.PCollection) (beam.PCollection, beam.PCollection)
	}{
		{"caption", "models/demo-vision", "image/png", read("heldout/vision/0002.png"), Caption},
		{"transcript", "models/demo-speech", "audio/wav", read("heldout/speech/0007.wav"), Transcribe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Model: filepath.Join(root, tt.model), OutputTopic: "out", DeadLetterTopic: "dlq", Partials: true}
			in := kafka.Envelope{Key: []byte("k-" + tt.name), Value: tt.data, Origin: kafka.Origin{Group: "g", Topic: "in", Offset: 7, From: 7}}.
				WithHeader(kafka.HeaderRequestID, tt.name).WithHeader(kafka.HeaderContentType, tt.ct)
			p, s := beam.NewPipelineWithRoot()
			ok, _ := tt.fn(s, cfg, beam.CreateList(s, []kafka.Envelope{in}))
			beam.ParDo0(s, &collectFn{Name: tt.name}, ok)
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
			v, _ := collected.Load(tt.name)
			if v == nil {
				t.Fatal("no records")
			}
			var recs []struct {
				ID, Text, Partial, Key string
				Final, Committable     bool
			}
			for _, line := range *v.(*[]string) {
				var r struct {
					ID, Text, Partial, Key string
					Final, Committable     bool
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			if len(recs) < 2 {
				t.Fatalf("%d records, want partials and a final one: %v", len(recs), recs)
			}
			last := recs[len(recs)-1]
			if !last.Final || last.Partial != "" || !last.Committable {
				t.Errorf("last record %+v: want the final, committable one", last)
			}
			var texts []string
			for _, r := range recs[:len(recs)-1] {
				if r.Final || r.Partial != "true" || r.Committable || r.Key != "k-"+tt.name {
					t.Errorf("partial record %+v", r)
				}
				if !strings.HasPrefix(last.Text, r.Text) {
					t.Errorf("partial %q is not a prefix of the final %q", r.Text, last.Text)
				}
				texts = append(texts, r.Text)
			}
			if !sort.SliceIsSorted(texts, func(i, j int) bool { return len(texts[i]) < len(texts[j]) }) || reflect.DeepEqual(texts[len(texts)-1], "") {
				t.Errorf("partials do not grow: %q", texts)
			}
			t.Logf("%d partials, final %q", len(texts), last.Text)
		})
	}
}
