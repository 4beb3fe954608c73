package model

import (
	"fmt"
	"io"
	"os"
)

// Bounds on the JSON files of a checkpoint directory, read whole into
// memory. Real ones are a few KB (config.json, generation_config.json) to a
// few MB (the shard index of a model with 100,000 tensors).
const (
	MaxConfigBytes = 16 << 20
	MaxIndexBytes  = 64 << 20
)

// readBounded reads a whole file of at most limit bytes. It reads through a
// limit, not by the size Stat reports, so a link to /dev/zero or a file that
// grows cannot make it allocate more.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than the %d-byte limit for this file (corrupt or not a checkpoint file)", path, limit)
	}
	return b, nil
}
