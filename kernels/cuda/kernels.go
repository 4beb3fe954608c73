package cuda

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
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

var entryRE = regexp.MustCompile(`extern "C" __global__ void (\w+)\(`)

// Entries lists the extern "C" kernels a source declares.
func (s Source) Entries() []string {
	var out []string
	for _, m := range entryRE.FindAllStringSubmatch(s.Code, -1) {
		out = append(out, m[1])
	}
	return out
}

// Kernels are the embedded kernels loaded into a context.
type Kernels struct {
	mods []*Module
	fns  map[string]*Function
}

// LoadKernels compiles the embedded sources for the context's device
// (through cache; nil compiles every time), loads them and looks up every
// entry point.
func (c *Context) LoadKernels(cache *PTXCache) (*Kernels, error) {
	if cache == nil {
		cache = &PTXCache{}
	}
	k := &Kernels{fns: map[string]*Function{}}
	for _, s := range Sources() {
		ptx, err := cache.PTX(s, c.Device.Arch(), c.Device.Driver)
		if err != nil {
			k.Unload()
			return nil, err
		}
		m, err := c.LoadPTX(ptx)
		if err != nil {
			k.Unload()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		k.mods = append(k.mods, m)
		for _, e := range s.Entries() {
			f, err := m.Function(e)
			if err != nil {
				k.Unload()
				return nil, err
			}
			k.fns[e] = f
		}
	}
	return k, nil
}

// Get returns the named kernel; a missing name is a programming error.
func (k *Kernels) Get(name string) *Function {
	f, ok := k.fns[name]
	if !ok {
		panic("cuda: no kernel " + name)
	}
	return f
}

// Unload frees the modules.
func (k *Kernels) Unload() {
	for _, m := range k.mods {
		m.Unload()
	}
	k.mods = nil
}
