package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the repository root: the folder above this package, which
// holds go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

// goModule is what the deployment artifacts must agree with in go.mod.
type goModule struct {
	goVersion   string // the go directive, e.g. 1.26.0
	beamVersion string // github.com/apache/beam/sdks/v2, without the v: 2.77.0
}

// minor is the go directive cut to major.minor (the golang image tag).
func (m goModule) minor() string {
	parts := strings.SplitN(m.goVersion, ".", 3)
	if len(parts) < 2 {
		return m.goVersion
	}
	return parts[0] + "." + parts[1]
}

func readGoMod(t *testing.T) goModule {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var m goModule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 2 && fields[0] == "go":
			m.goVersion = fields[1]
		case len(fields) >= 2 && fields[0] == "github.com/apache/beam/sdks/v2":
			m.beamVersion = strings.TrimPrefix(fields[1], "v")
		case len(fields) >= 3 && fields[0] == "require" && fields[1] == "github.com/apache/beam/sdks/v2":
			m.beamVersion = strings.TrimPrefix(fields[2], "v")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if m.goVersion == "" || m.beamVersion == "" {
		t.Fatalf("go.mod: go directive %q, Beam version %q: want both", m.goVersion, m.beamVersion)
	}
	return m
}

// goPackage is one package of `go list -deps`.
type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
}

var (
	depsMu    sync.Mutex
	depsCache = map[string][]goPackage{}
)

// binaryDeps lists the packages linked into ./cmd/dlmstream built with
// CGO_ENABLED=0 and the given build tags (as the Dockerfiles build it).
func binaryDeps(t *testing.T, tags string) []goPackage {
	t.Helper()
	depsMu.Lock()
	defer depsMu.Unlock()
	if pkgs, ok := depsCache[tags]; ok {
		return pkgs
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \",\"}}"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(goTool, append(args, "./cmd/dlmstream")...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	var pkgs []goPackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			continue
		}
		p := goPackage{ImportPath: f[0], Dir: f[1]}
		if f[2] != "" {
			p.GoFiles = strings.Split(f[2], ",")
		}
		pkgs = append(pkgs, p)
	}
	depsCache[tags] = pkgs
	return pkgs
}
