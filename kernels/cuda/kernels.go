package cuda

import (
	"embed"
	"io/fs"
	"sort"
)

//go:embed kernels/*.cu
var kernelFS embed.FS

// Source is one embedded CUDA C file.
type Source struct {
	Name string // file name, e.g. "norm.cu"
	Code string
}

// Sources returns the embedded kernel sources, by name.
func Sources() []Source {
	names, _ := fs.Glob(kernelFS, "kernels/*.cu")
	sort.Strings(names)
	out := make([]Source, 0, len(names))
	for _, n := range names {
		b, _ := kernelFS.ReadFile(n)
		out = append(out, Source{Name: n[len("kernels/"):], Code: string(b)})
	}
	return out
}
