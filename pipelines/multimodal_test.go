package pipelines

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"dlmstream/connectors/files"
	"dlmstream/transforms"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// TestExtractionFromMixedMedia runs the extraction pipeline on prism over a
// data-lake folder of a spoken clip, a scene, a text and a broken clip,
// each with its schema sidecar: the clip and the scene are transcribed and
// captioned by their checkpoints and become schema-valid records that keep
// the transcript or caption, the text becomes a record as before, and the
// broken clip is a dead letter of the decode stage with its bytes.
func TestExtractionFromMixedMedia(t *testing.T) {
	models := filepath.Join("..", "testdata", "models")
	demo := filepath.Join("..", "testdata", "demo")
	dir := t.TempDir()
	const command = `{"type":"object","properties":{"action":{"enum":["turn on","turn off"]},"device":{"type":"string","maxLength":20}},"required":["action","device"],"additionalProperties":false}`
	const scene = `{"type":"object","properties":{"digit":{"type":"integer","minimum":0,"maximum":9}},"required":["digit"],"additionalProperties":false}`
	copyFile := func(from, to string) []byte {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(demo, "speech", "stereo-44k.flac"), "command.flac")
	write("command.schema.json", command)
	copyFile(filepath.Join(demo, "vision", "0038.jpg"), "scene.jpg")
	write("scene.schema.json", scene)
	write("note.txt", "The kitchen lamp is on.")
	write("note.schema.json", command)
	clip := copyFile(filepath.Join(demo, "speech", "0007.wav"), "broken.wav")
	if err := os.WriteFile(filepath.Join(dir, "broken.wav"), clip[:len(clip)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	write("broken.schema.json", command)

	outPath := filepath.Join(t.TempDir(), "out.jsonl")
	p, s := beam.NewPipelineWithRoot()
	if err := Build(s, Options{Name: Extraction, InputGlob: filepath.Join(dir, "*"), OutputPath: outPath,
		Transforms: transforms.Config{Model: filepath.Join(models, "demo-text"), SpeechModel: filepath.Join(models, "demo-speech-v2"),
			VisionModel: filepath.Join(models, "demo-vision")}}); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(p); err != nil {
		t.Fatal(err)
	}
	got := map[string]transforms.Output{}
	for _, line := range readLines(t, outPath) {
		var r files.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		var o transforms.Output
		if err := json.Unmarshal(r.Value, &o); err != nil {
			t.Fatal(err)
		}
		got[filepath.Base(o.RequestID)] = o
	}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "command.flac note.txt scene.jpg" {
		t.Fatalf("results for %v, want command.flac note.txt scene.jpg", names)
	}
	if o := got["command.flac"]; o.Transcript != "turn on the hallway oven" || o.Audio == nil || len(o.JSON) == 0 {
		t.Errorf("command.flac: transcript %q, record %s", o.Transcript, o.JSON)
	}
	if o := got["scene.jpg"]; !strings.Contains(o.Caption, "with the number 9 in the center") || o.Image == nil || len(o.JSON) == 0 {
		t.Errorf("scene.jpg: caption %q, record %s", o.Caption, o.JSON)
	}
	if o := got["note.txt"]; o.Transcript != "" || o.Caption != "" || len(o.JSON) == 0 {
		t.Errorf("note.txt: %+v", o)
	}
	dlq := readLines(t, strings.TrimSuffix(outPath, ".jsonl")+".dlq.jsonl")
	if len(dlq) != 1 || !strings.Contains(dlq[0], "broken.wav") || !strings.Contains(dlq[0], `"dlq-stage":"decode"`) ||
		!strings.Contains(dlq[0], `"dlq-reason":"truncated"`) || !strings.Contains(dlq[0], `"value_base64"`) {
		t.Fatalf("dead letters = %.600q", dlq)
	}
}
