package dlmstream_test

import (
	"fmt"
	"os"
	"path/filepath"

	"dlmstream"
)

// The demo checkpoint travels inside the binary; Materialize puts it on
// disk (once) where a loader can read it.
func ExampleMaterialize() {
	cache, _ := os.MkdirTemp("", "bundle")
	defer os.RemoveAll(cache)
	os.Setenv(dlmstream.EnvCacheDir, cache)
	defer os.Unsetenv(dlmstream.EnvCacheDir)

	dir, err := dlmstream.Materialize("demo-text")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = os.Stat(filepath.Join(dir, "model.safetensors"))
	fmt.Println(filepath.Base(filepath.Dir(dir)), err == nil)
	// Output: bundle true
}
