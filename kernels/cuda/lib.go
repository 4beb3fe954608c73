package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ebitengine/purego"
)

// EnvLibPath overrides where the CUDA libraries are searched.
const EnvLibPath = "DLMSTREAM_CUDA_LIB_PATH"

// ErrNoLibrary is wrapped by errors for a library found nowhere.
var ErrNoLibrary = errors.New("cuda: library not found")

// library is one opened shared library.
type library struct {
	path   string
	handle uintptr
}

// searchDirs lists the folders to look in, in order (see the package doc).
func searchDirs() []string {
	if v, ok := os.LookupEnv(EnvLibPath); ok {
		return filepath.SplitList(v)
	}
	dirs := filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))
	dirs = append(dirs,
		"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
		"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/nvidia/lib64",
		"/usr/lib/wsl/lib")
	// nvidia-* wheels: site-packages/nvidia/{cu13,cu12,cuda_nvrtc,cublas,...}/lib.
	var sites []string
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		sites = append(sites, filepath.Join(v, "lib", "python3*", "site-packages"))
	}
	home, _ := os.UserHomeDir()
	sites = append(sites, "/usr/lib/python3*/site-packages", "/usr/lib/python3/dist-packages",
		"/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
		filepath.Join(home, ".local", "lib", "python3*", "site-packages"),
		filepath.Join(home, ".pyenv", "versions", "*", "lib", "python3*", "site-packages"))
	for _, s := range sites {
		m, _ := filepath.Glob(filepath.Join(s, "nvidia", "*", "lib"))
		dirs = append(dirs, m...)
	}
	return dirs
}

// openLibrary opens the first of names found in dirs.
func openLibrary(dirs, names []string) (*library, error) {
	var tried []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		for _, n := range names {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err != nil {
				continue
			}
			h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL)
			if err != nil {
				tried = append(tried, fmt.Sprintf("%s (%v)", p, err))
				continue
			}
			return &library{path: p, handle: h}, nil
		}
	}
	where := fmt.Sprintf("%d folders", len(dirs))
	if v, ok := os.LookupEnv(EnvLibPath); ok {
		where = fmt.Sprintf("$%s=%q", EnvLibPath, v)
	}
	failed := ""
	if len(tried) > 0 {
		failed = "; failed to open " + strings.Join(tried, "; ")
	}
	return nil, fmt.Errorf("%w: none of %s in %s%s", ErrNoLibrary, strings.Join(names, ", "), where, failed)
}

// bind sets each *fn to the library's symbol of that name.
func (l *library) bind(syms map[string]any) error {
	for name, fn := range syms {
		p, err := purego.Dlsym(l.handle, name)
		if err != nil {
			return fmt.Errorf("cuda: %s has no %s: %v", l.path, name, err)
		}
		purego.RegisterFunc(fn, p)
	}
	return nil
}
