package schema

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"dlmstream/engine"
	"dlmstream/engine/decode"
)

// FreeDave composes with scaffolds (a template) and their constraint: on
// held-out texts of every demo schema the JSON is byte for byte what one
// token per step extracts, in no more forwards.
func TestFreeDaveExtract(t *testing.T) {
	e, err := engine.New(filepath.Join("..", "..", "testdata", "models", "demo-text"), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	n := 5
	if testing.Short() {
		n = 1
	}
	fd, base := 0, 0
	for _, name := range []string{"order", "person", "event", "device"} {
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "heldout", "text", "schemas", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Compile(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, c := range heldOut(t, name, n) {
			want, err := Extract(context.Background(), e, c.Input, s, Options{Policy: decode.StaticTopK{Steps: e.Arch().Block}})
			if err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
			got, err := Extract(context.Background(), e, c.Input, s, Options{Policy: decode.FreeDave{}})
			if err != nil {
				t.Fatalf("%s %d: %v", name, i, err)
			}
			if !bytes.Equal(got.JSON, want.JSON) || got.Forwards > want.Forwards {
				t.Fatalf("%s %d: FreeDave %s in %d forwards, one per step %s in %d", name, i, got.JSON, got.Forwards, want.JSON, want.Forwards)
			}
			fd, base = fd+got.Forwards, base+want.Forwards
		}
	}
	t.Logf("%d forwards vs %d one per step (scoring forwards included; ratio %.3f)", fd, base, float64(fd)/float64(base))
}
