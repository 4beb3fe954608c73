package pipelines

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dlmstream/connectors/kafka"
	"dlmstream/connectors/kafka/kafkatest"
	"dlmstream/engine"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"
	kgo "github.com/segmentio/kafka-go"

	"dlmstream/connectors/files"
)

func TestMain(m *testing.M) {
	if os.Getenv(envRestartChild) != "" {
		os.Exit(restartChild())
	}
	if os.Getenv(envGroupChild) != "" {
		os.Exit(groupChild())
	}
	if os.Getenv(envKillChild) != "" {
		os.Exit(killChild())
	}
	if os.Getenv(envOverloadChild) != "" {
		os.Exit(overloadChild())
	}
	if os.Getenv(envSinkFaultChild) != "" {
		os.Exit(sinkFaultChild())
	}
	ptest.MainWithDefault(m, "prism")
}

// echoEngine is the deterministic engine test double: it answers with the last line of
// the user turn after an optional delay.
type echoEngine struct{ delay time.Duration }

func (e echoEngine) Generate(ctx context.Context, req engine.Request) (engine.Result, error) {
	if e.delay > 0 {
		select {
		case <-ctx.Done():
			return engine.Result{}, ctx.Err()
		case <-time.After(e.delay):
		}
	}
	if len(req.Messages) == 0 {
		return engine.Result{}, errors.New("no messages")
	}
	lines := strings.Split(req.Messages[len(req.Messages)-1].Content, "\n")
	return engine.Result{ID: req.ID, Text: "echo: " + lines[len(lines)-1], Tokens: 1, Forwards: 1, Elapsed: e.delay}, nil
}

var registerOnce sync.Once

func testModel() string {
	registerOnce.Do(func() {
		transforms.RegisterGenerator("test:echo", echoEngine{})
		transforms.RegisterGenerator("test:slow", echoEngine{delay: 3 * time.Millisecond})
	})
	return "test:echo"
}

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.SetNRGBA(0, 0, color.NRGBA{A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestOptionsValidate(t *testing.T) {
	good := Options{Name: Caption, Kafka: kafka.Config{Brokers: []string{"127.0.0.1:9092"}}, InputTopics: []string{"in"},
		OutputTopic: "out", DeadLetterTopic: "dlq", Transforms: transforms.Config{Model: "m"}}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr string
	}{
		{"good", func(*Options) {}, ""},
		{"unknown pipeline", func(o *Options) { o.Name = "translate" }, "unknown pipeline"},
		{"no input", func(o *Options) { o.InputTopics = nil }, "input topics or an input glob"},
		{"two inputs", func(o *Options) { o.InputGlob = "*.png" }, "input topics or an input glob"},
		{"no dlq", func(o *Options) { o.DeadLetterTopic = "" }, "dead-letter"},
		{"bad output path", func(o *Options) { o.OutputPath = "out.csv" }, ".jsonl or .parquet"},
		{"streaming to files", func(o *Options) { o.OutputPath = "out.jsonl"; o.Streaming = true }, "bounded"},
		{"no model", func(o *Options) { o.Transforms.Model = "" }, "no model"},
		{"no brokers", func(o *Options) { o.Kafka.Brokers = nil }, "no brokers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			err := o.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestCaptionKafkaToKafka runs the caption pipeline on a broker: good images get results
// on the output topic, bad ones dead letters with the original bytes, and every input
// offset is committed.
func TestCaptionKafkaToKafka(t *testing.T) {
	for _, tg := range []func(testing.TB) kafkatest.Target{
		func(t testing.TB) kafkatest.Target { return kafkatest.Embedded(t, 2) },
		kafkatest.Real,
	} {
		t.Run("", func(t *testing.T) {
			target := tg(t)
			in, out, dlq, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "dlq"), kafkatest.Topic(t, "g")
			for _, topic := range []string{in, out, dlq} {
				kafkatest.CreateTopic(t, target.Brokers, topic, 2)
			}
			img := pngBytes(t, 32, 16)
			var msgs []kgo.Message
			for i := range 20 {
				v, ct := img, "image/png"
				switch i % 5 {
				case 3:
					v = []byte("not an image at all")
				case 4:
					v, ct = img[:len(img)/2], "image/png"
				}
				msgs = append(msgs, kgo.Message{Key: []byte(strconv.Itoa(i)), Value: v, Headers: []kgo.Header{
					{Key: kafka.HeaderContentType, Value: []byte(ct)}, {Key: kafka.HeaderRequestID, Value: []byte("img-" + strconv.Itoa(i))}}})
			}
			kafkatest.Produce(t, target.Brokers, in, msgs...)
			p, s := beam.NewPipelineWithRoot()
			err := Build(s, Options{Name: Caption, Kafka: kafka.Config{Brokers: target.Brokers}, InputTopics: []string{in},
				Group: group, Start: kafka.StartCommitted, OutputTopic: out, DeadLetterTopic: dlq,
				Transforms: transforms.Config{Model: testModel()}})
			if err != nil {
				t.Fatal(err)
			}
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
			results := kafkatest.ReadAll(t, target.Brokers, out, 12, 20*time.Second)
			dead := kafkatest.ReadAll(t, target.Brokers, dlq, 8, 20*time.Second)
			if len(results) != 12 || len(dead) != 8 {
				t.Fatalf("%d results and %d dead letters, want 12 and 8", len(results), len(dead))
			}
			for _, m := range results {
				var o transforms.Output
				if err := json.Unmarshal(m.Value, &o); err != nil || o.Task != transforms.KindCaption || o.Image == nil || o.Image.Width != 32 {
					t.Fatalf("result %s: %+v (%v)", m.Value, o, err)
				}
			}
			reasons := map[string]int{}
			for _, m := range dead {
				hs := map[string]string{}
				for _, h := range m.Headers {
					hs[h.Key] = string(h.Value)
				}
				reasons[hs[kafka.HeaderErrorReason]]++
				id, _ := strconv.Atoi(strings.TrimPrefix(hs[kafka.HeaderRequestID], "img-"))
				if !bytes.Equal(m.Value, msgs[id].Value) || hs[kafka.HeaderContentType] != "image/png" {
					t.Fatalf("dead letter %s lost the original bytes or headers", hs[kafka.HeaderRequestID])
				}
			}
			if reasons[transforms.ReasonNotImage] != 4 || reasons[transforms.ReasonTruncated] != 4 {
				t.Fatalf("dead-letter reasons = %v", reasons)
			}
			committed := kafkatest.Committed(t, target.Brokers, group, in, 2)
			if committed[0]+committed[1] != 20 {
				t.Fatalf("committed %v, want offsets summing to 20", committed)
			}
		})
	}
}

// TestExtractionFilesToJSONLAndParquet reads a directory of text files with sidecar
// schemas and writes JSON Lines and Parquet.
func TestExtractionFilesToJSONLAndParquet(t *testing.T) {
	dir := t.TempDir()
	schema := `{"type":"object","properties":{"title":{"type":"string"}}}`
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dune.txt", "Dune, Frank Herbert, 1965")
	write("dune.schema.json", schema)
	write("emma.txt", "Emma, Jane Austen, 1815")
	write("emma.schema.json", schema)
	write("broken.txt", "no schema for this one")
	write("huge.txt", "a sidecar over the limit")
	huge := `{"type":"object","description":"` + strings.Repeat("x", files.MaxSidecarBytes) + `"}`
	write("huge.schema.json", huge)
	for _, ext := range []string{".jsonl", ".parquet"} {
		t.Run(ext, func(t *testing.T) {
			outPath := filepath.Join(t.TempDir(), "out"+ext)
			p, s := beam.NewPipelineWithRoot()
			if err := Build(s, Options{Name: Extraction, InputGlob: filepath.Join(dir, "*.txt"), OutputPath: outPath,
				Transforms: transforms.Config{Model: testModel()}}); err != nil {
				t.Fatal(err)
			}
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
			var texts []string
			if ext == ".jsonl" {
				for _, line := range readLines(t, outPath) {
					var r files.Record
					if err := json.Unmarshal([]byte(line), &r); err != nil {
						t.Fatal(err)
					}
					var o transforms.Output
					if err := json.Unmarshal(r.Value, &o); err != nil {
						t.Fatal(err)
					}
					texts = append(texts, o.Text)
				}
			} else {
				rows, err := parquet.ReadFile[files.Row](outPath)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					texts = append(texts, r.Text)
				}
			}
			sort.Strings(texts)
			if want := []string{"echo: Dune, Frank Herbert, 1965", "echo: Emma, Jane Austen, 1815"}; strings.Join(texts, "|") != strings.Join(want, "|") {
				t.Fatalf("texts = %q, want %q", texts, want)
			}
			dlq := readLines(t, strings.TrimSuffix(outPath, ext)+".dlq.jsonl")
			sort.Strings(dlq) // broken.txt, then huge.txt
			if len(dlq) != 2 || !strings.Contains(dlq[0], `"dlq-reason":"invalid-schema"`) || !strings.Contains(dlq[0], `"text":"no schema for this one"`) ||
				!strings.Contains(dlq[1], `"dlq-reason":"bad-sidecar"`) || !strings.Contains(dlq[1], fmt.Sprintf("huge.schema.json is %d bytes, over the %d-byte sidecar limit", len(huge), files.MaxSidecarBytes)) {
				t.Fatalf("dead letters = %.400q", dlq)
			}
		})
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestExtractionParquetSchemaColumns runs extraction with the real tiny
// checkpoint: records land in a Parquet table with one typed column per
// property of their JSON Schema.
func TestExtractionParquetSchemaColumns(t *testing.T) {
	dir := t.TempDir()
	schema := `{"type":"object","properties":{"title":{"type":"string","maxLength":16},"year":{"type":"integer","minimum":1000,"maximum":2100}},"required":["title","year"],"additionalProperties":false}`
	for name, data := range map[string]string{"dune.txt": "Dune, 1965", "dune.schema.json": schema, "emma.txt": "Emma, 1815", "emma.schema.json": schema} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outPath := filepath.Join(t.TempDir(), "books.parquet")
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, Options{Name: Extraction, InputGlob: filepath.Join(dir, "*.txt"), OutputPath: outPath,
		Transforms: transforms.Config{Model: filepath.Join("..", "testdata", "models", "tiny-sdar"), MaxNewTokens: 8}}); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(strings.TrimSuffix(outPath, ".parquet") + ".*.parquet")
	if len(tables) != 1 {
		t.Fatalf("schema tables %v, want one", tables)
	}
	f, err := os.Open(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := parquet.NewReader(f)
	if s := rd.Schema().String(); !strings.Contains(s, "optional int64 year") || !strings.Contains(s, "optional binary title (STRING)") {
		t.Fatalf("table schema:\n%s", s)
	}
	n := 0
	for {
		r := map[string]any{}
		if err := rd.Read(&r); err != nil {
			break
		}
		n++
		year, ok := r["year"].(int64)
		if _, isStr := r["title"].(string); !isStr || !ok || year < 1000 || year > 2100 || r["_json"] == nil {
			t.Fatalf("row %v", r)
		}
	}
	if n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
}
