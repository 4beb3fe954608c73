package kafka

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "update golden files")

// TestConfigDocGolden keeps testdata/config.md, the connector reference generated from
// the specs, in step with the code. Refresh it with: go test ./connectors/kafka -run ConfigDoc -update
func TestConfigDocGolden(t *testing.T) {
	doc := "# Kafka connector configuration\n\nGenerated from the specs in connectors/kafka (go test ./connectors/kafka -run ConfigDoc -update).\n\n" +
		"## Cluster (every source and sink)\n\n" + ConfigDoc(ConfigSpec) +
		"\n## Source (ReadBounded, ReadUnbounded)\n\n" + ConfigDoc(SourceSpec) +
		"\n## Sink (Write)\n\n" + ConfigDoc(SinkSpec)
	path := filepath.Join("testdata", "config.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != doc {
		t.Fatalf("%s is stale: run go test ./connectors/kafka -run ConfigDoc -update", path)
	}
}
