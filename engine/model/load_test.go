package model

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"dlmstream/engine/model/safetensors"
	"dlmstream/engine/tensor"
)

// writeCheckpoint writes config.json and a model.safetensors holding one
// BF16 tensor of n elements into a temp dir.
func writeCheckpoint(t *testing.T, config string, n int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	writeShard(t, filepath.Join(dir, "model.safetensors"), map[string]int{"w": n})
	return dir
}

// writeShard writes a safetensors file of BF16 tensors of the given sizes.
func writeShard(t *testing.T, path string, sizes map[string]int) {
	t.Helper()
	ts := map[string]safetensors.Tensor{}
	for name, n := range sizes {
		ts[name] = safetensors.Tensor{DType: tensor.BF16, Shape: []int{n}, Data: make([]byte, 2*n)}
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Load refuses a config that claims more weights than the files hold
// before the architecture builds anything sized by it.
func TestLoadChecksWeightBytes(t *testing.T) {
	small, err := ParseConfig("config.json", []byte(with("attention_bias", "false")))
	if err != nil {
		t.Fatal(err)
	}
	params, _ := small.DecoderParams()
	tests := []struct {
		name   string
		config string
		elems  int
		want   string // "" for success
	}{
		{"enough bytes", with("attention_bias", "false"), int(params), ""},
		{"one parameter short", with("attention_bias", "false"), int(params) - 1, "hold only"},
		{"config far larger than the files", with("num_hidden_layers", "1024", "hidden_size", "65536", "num_attention_heads", "64", "intermediate_size", "262144", "vocab_size", "4194304"), 16,
			"config claims a model of at least "},
		{"absurd layer count", with("num_hidden_layers", "1000000000"), 16, "num_hidden_layers 1000000000 exceeds the limit of 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCheckpoint(t, tt.config, tt.elems)
			m, err := Load(dir, LoadOptions{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m != nil {
					m.Close()
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "config.json") {
				t.Fatalf("err = %v, want one naming config.json and %q", err, tt.want)
			}
		})
	}
}

// A shard index may only name files in the checkpoint directory, and each
// tensor must be in the shard it names.
func TestOpenIndexErrors(t *testing.T) {
	tests := []struct {
		name  string
		shard string // weight_map value for tensor "a"
		index string // the whole index instead, if set
		want  string
	}{
		{"parent directory", "..", "", `shard name ".." must be a plain file name inside the checkpoint directory`},
		{"current directory", ".", "", `shard name "." must be a plain file name`},
		{"dot-dot path", "../outside.safetensors", "", `shard name "../outside.safetensors" must be a plain file name`},
		{"absolute path", "/etc/passwd", "", `shard name "/etc/passwd" must be a plain file name`},
		{"subdirectory", "sub/a.safetensors", "", `shard name "sub/a.safetensors"`},
		{"backslash path", `..\\outside.safetensors`, "", `shard name "..\\outside.safetensors"`},
		{"drive path", `C:\\x.safetensors`, "", `shard name "C:\\x.safetensors"`},
		{"empty name", "", "", `shard name ""`},
		{"NUL byte", `a\u0000.safetensors`, "", `shard name "a\x00.safetensors"`},
		{"tensor in another shard", "", `{"weight_map": {"a": "b.safetensors", "b": "a.safetensors"}}`, `tensor "a" is mapped to b.safetensors, which does not contain it (it is in a.safetensors)`},
		{"tensor in no shard", "", `{"weight_map": {"a": "a.safetensors", "x": "c.safetensors"}}`, `tensor "x" is mapped to c.safetensors, which does not contain it (no shard holds it)`},
		{"missing shard", "gone.safetensors", "", "shard gone.safetensors: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "ckpt")
			os.Mkdir(dir, 0o755)
			// A valid shard outside the checkpoint: never to be opened.
			writeShard(t, filepath.Join(root, "outside.safetensors"), map[string]int{"a": 1})
			writeShard(t, filepath.Join(dir, "a.safetensors"), map[string]int{"a": 1})
			writeShard(t, filepath.Join(dir, "b.safetensors"), map[string]int{"b": 1})
			writeShard(t, filepath.Join(dir, "c.safetensors"), map[string]int{"c": 1})
			index := tt.index
			if index == "" {
				index = `{"weight_map": {"a": "` + tt.shard + `", "b": "b.safetensors"}}`
			}
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(index), 0o644); err != nil {
				t.Fatal(err)
			}
			w, err := OpenWeights(dir)
			if err == nil {
				w.Close()
				t.Fatalf("OpenWeights succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "model.safetensors.index.json") {
				t.Fatalf("err = %v, want one naming the index and %q", err, tt.want)
			}
		})
	}
}

// config.json is read through a size limit: a link to an endless file is
// refused, not read into memory.
func TestLoadConfigBounded(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "config.json")); err != nil {
		t.Skip(err)
	}
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "larger than the 16777216-byte limit") {
		t.Fatalf("err = %v, want the size limit", err)
	}
}
