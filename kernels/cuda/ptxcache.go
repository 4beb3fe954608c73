package cuda

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// EnvCacheDir overrides where compiled PTX is kept.
const EnvCacheDir = "DLMSTREAM_CACHE_DIR"

// PTXCache keeps NVRTC's output on disk, one file per (source, arch,
// NVRTC version, driver version), so a worker compiles its kernels once
// per machine image rather than at every start.
type PTXCache struct {
	Dir string // "" disables the cache
	// compile is CompilePTX; tests count calls through it.
	compile func(src, name, arch string, options ...string) (string, error)
}

// DefaultPTXCache is $DLMSTREAM_CACHE_DIR/ptx, else the user cache
// folder's dlmstream/ptx, else none.
func DefaultPTXCache() *PTXCache {
	dir := os.Getenv(EnvCacheDir)
	if dir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(d, "dlmstream")
		}
	}
	if dir != "" {
		dir = filepath.Join(dir, "ptx")
	}
	return &PTXCache{Dir: dir, compile: CompilePTX}
}

// key names one compilation's result.
func (p *PTXCache) key(s Source, arch string, driver int) (string, error) {
	v, err := NVRTCVersion()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00", s.Code, arch, v, driver)
	return fmt.Sprintf("%s-%s-%s.ptx", s.Name, arch, hex.EncodeToString(h.Sum(nil))[:24]), nil
}

// PTX returns s compiled for arch, from the cache when it holds it. A
// cache that cannot be read or written only costs a compile.
func (p *PTXCache) PTX(s Source, arch string, driver int) (string, error) {
	compile := p.compile
	if compile == nil {
		compile = CompilePTX
	}
	if p.Dir == "" {
		return compile(s.Code, s.Name, arch)
	}
	k, err := p.key(s, arch, driver)
	if err != nil {
		return "", err
	}
	path := filepath.Join(p.Dir, k)
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	ptx, err := compile(s.Code, s.Name, arch)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(p.Dir, 0o755); err == nil {
		tmp, err := os.CreateTemp(p.Dir, k+".tmp*")
		if err == nil {
			_, werr := tmp.WriteString(ptx)
			cerr := tmp.Close()
			if werr == nil && cerr == nil {
				_ = os.Rename(tmp.Name(), path) // atomic: readers never see half a file
			}
			_ = os.Remove(tmp.Name())
		}
	}
	return ptx, nil
}
