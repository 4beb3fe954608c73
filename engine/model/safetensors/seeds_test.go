package safetensors

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// headerSeed is one FuzzSafetensorsHeader seed and the outcome it must have.
type headerSeed struct {
	name        string
	lengthDelta int64
	header      []byte
	dataLen     uint32
	want        string // substring of the error; "" for a valid file
}

// headerSeeds are the fuzz seeds: the headers of real checkpoints (valid),
// and one of each hostile class.
func headerSeeds(t *testing.T) []headerSeed {
	t.Helper()
	models := filepath.Join("..", "..", "..", "testdata", "models")
	var seeds []headerSeed
	for _, p := range []string{"tiny-qwen3/model.safetensors", "tiny-qwen3-bf16/model.safetensors", "tiny-sdar/model-00002-of-00002.safetensors", "tiny-whisper-80/model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(models, p))
		if err != nil {
			t.Fatal(err)
		}
		n := binary.LittleEndian.Uint64(b)
		seeds = append(seeds, headerSeed{"valid-" + strings.ReplaceAll(filepath.Dir(p), "/", "-"), 0, b[8 : 8+n], uint32(uint64(len(b)) - 8 - n), ""})
	}
	seeds = append(seeds,
		headerSeed{"valid-scalar-and-metadata", 0, []byte(`{"__metadata__":{"format":"pt"},"s":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`), 2, ""},
		headerSeed{"header-past-end", 100, []byte(`{}`), 0, "header claims 102 bytes but only 2 follow"},
		headerSeed{"header-over-limit", MaxHeaderBytes + 1 - 2, []byte(`{}`), 0, "exceeds the 100000000-byte limit"},
		headerSeed{"header-length-max", -3, []byte(`{}`), 0, "header length 18446744073709551615 bytes exceeds"},
	)
	for _, h := range hostileHeaders {
		seeds = append(seeds, headerSeed{strings.ReplaceAll(h.name, " ", "-"), 0, []byte(h.header), uint32(h.data), h.want})
	}
	return seeds
}

// corpusFile is a seed in the go test fuzz v1 format.
func (s headerSeed) corpusFile() []byte {
	return fmt.Appendf(nil, "go test fuzz v1\nint64(%d)\n[]byte(%q)\nuint32(%d)\n", s.lengthDelta, s.header, s.dataLen)
}

// The committed seeds of FuzzSafetensorsHeader are the table's, and each
// still has its outcome. go test -update rewrites them.
func TestFuzzSafetensorsHeaderSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzSafetensorsHeader")
	for _, s := range headerSeeds(t) {
		t.Run(s.name, func(t *testing.T) {
			v := newVirtualFile(s.lengthDelta, s.header, s.dataLen)
			_, err := readHeader("seed", v, v.Size())
			switch {
			case s.want == "" && err != nil:
				t.Errorf("valid seed rejected: %v", err)
			case s.want != "" && (err == nil || !strings.Contains(err.Error(), s.want)):
				t.Errorf("err = %v, want one containing %q", err, s.want)
			}
			p := filepath.Join(dir, s.name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, s.corpusFile(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(p)
			if err != nil || string(b) != string(s.corpusFile()) {
				t.Errorf("%s is missing or stale (err %v): run go test -run TestFuzzSafetensorsHeaderSeeds -update", p, err)
			}
		})
	}
}
