package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The images both Dockerfiles must produce, and what differs between them.
var dockerfiles = []struct {
	file    string
	base    string // the runtime stage's base image, without its tag
	uid     int    // USER of the runtime stage (the k8s manifests run as it)
	cmdArgs string // CMD of the default target
}{
	{"Dockerfile", "gcr.io/distroless/base-nossl-debian12", 65532, `["help"]`},
	{"Dockerfile.cuda", "nvidia/cuda", 10001, `["devices"]`},
}

// The demo checkpoints the images carry, at $DLMSTREAM_MODELS/NAME.
var (
	imageModels    = []string{"demo-text", "demo-speech-v2", "demo-vision"}
	imageModelsDir = "/opt/dlmstream/models"
	imageBinary    = "/dlmstream"
	beamBoot       = "/opt/apache/beam/boot"
)

func loadDockerfile(t *testing.T, name string) *dockerfile {
	t.Helper()
	df, err := parseDockerfile(filepath.Join(repoRoot(t), "deploy", "docker", name))
	if err != nil {
		t.Fatal(err)
	}
	return df
}

func TestDockerfiles(t *testing.T) {
	mod := readGoMod(t)
	root := repoRoot(t)
	for _, tt := range dockerfiles {
		t.Run(tt.file, func(t *testing.T) {
			df := loadDockerfile(t, tt.file)

			t.Run("FROM pinned", func(t *testing.T) {
				for _, st := range df.stages {
					if df.stage(st.image) != nil {
						continue // an earlier stage
					}
					if !pinnedTag(st.image) {
						t.Errorf("line %d: FROM %s: want a tag other than latest (or a digest)", st.from.line, st.image)
					}
				}
			})

			build := df.stage("build")
			t.Run("build stage", func(t *testing.T) {
				if build == nil {
					t.Fatal("no stage named build")
				}
				if got, want := imageName(build.image), "golang"; got != want {
					t.Errorf("build FROM %s: want the %s image", build.image, want)
				}
				if tag := imageTag(build.image); !strings.HasPrefix(tag, mod.minor()) {
					t.Errorf("build FROM %s: tag %q, want Go %s (go.mod's go %s)", build.image, tag, mod.minor(), mod.goVersion)
				}
				var run *instruction
				for i, in := range build.body {
					if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
						run = &build.body[i]
					}
				}
				if run == nil {
					t.Fatal("build stage has no RUN ... go build")
				}
				for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-o " + imageBinary, "./cmd/dlmstream"} {
					if !strings.Contains(run.args, want) {
						t.Errorf("line %d: go build %q lacks %q", run.line, run.args, want)
					}
				}
			})

			final := df.stages[len(df.stages)-1]
			t.Run("final stage", func(t *testing.T) {
				e := df.effective(final)
				if u := uid(e.user); u <= 0 {
					t.Errorf("final stage %q: USER %q, want a numeric non-root uid", final.name, e.user)
				}
				if got, want := e.entrypoint.exec, []string{imageBinary}; !slices.Equal(got, want) {
					t.Errorf("final stage ENTRYPOINT %q (exec form %q), want %q in exec form (PID 1 gets SIGTERM)", e.entrypoint.args, got, want)
				}
				var cmd string
				for _, in := range final.body {
					if in.cmd == "CMD" {
						cmd = in.args
					}
				}
				if cmd != tt.cmdArgs {
					t.Errorf("final stage CMD %s, want %s", cmd, tt.cmdArgs)
				}
			})

			runtime := df.stage("runtime")
			t.Run("runtime stage", func(t *testing.T) {
				if runtime == nil {
					t.Fatal("no stage named runtime")
				}
				if got := imageName(runtime.image); got != tt.base {
					t.Errorf("runtime FROM %s: want %s", runtime.image, tt.base)
				}
				e := df.effective(runtime)
				if got := uid(e.user); got != tt.uid {
					t.Errorf("runtime USER %q: want uid %d (deploy/k8s runs the image as it)", e.user, tt.uid)
				}
				if got := e.env["DLMSTREAM_MODELS"]; got != imageModelsDir {
					t.Errorf("ENV DLMSTREAM_MODELS=%q, want %s", got, imageModelsDir)
				}
				binary := false
				copied := map[string]string{} // destination -> source
				for _, in := range e.copies {
					fields := strings.Fields(in.args)
					if from, ok := flagValue(in.flags, "from"); ok {
						binary = binary || (from == "build" && slices.Equal(fields, []string{imageBinary, imageBinary}))
						continue
					}
					if len(fields) == 2 {
						copied[fields[1]] = fields[0]
					}
				}
				if !binary {
					t.Errorf("runtime stage does not COPY --from=build %s %s", imageBinary, imageBinary)
				}
				for _, m := range imageModels {
					dst := imageModelsDir + "/" + m
					src, ok := copied[dst]
					if !ok {
						t.Errorf("no COPY of the %s checkpoint to %s", m, dst)
						continue
					}
					if _, err := os.Stat(filepath.Join(root, src, "config.json")); err != nil {
						t.Errorf("COPY %s %s: not a checkpoint (%v)", src, dst, err)
					}
				}
			})

			t.Run("beam-worker stage", func(t *testing.T) {
				w, sdk := df.stage("beam-worker"), df.stage("beam-sdk")
				if w == nil || sdk == nil {
					t.Fatal("want stages beam-sdk and beam-worker")
				}
				if want := "apache/beam_go_sdk:" + mod.beamVersion; sdk.image != want {
					t.Errorf("beam-sdk FROM %s: want %s (go.mod's Beam)", sdk.image, want)
				}
				e := df.effective(w)
				if u := uid(e.user); u <= 0 {
					t.Errorf("beam-worker USER %q: want a numeric non-root uid by default", e.user)
				}
				if got, want := e.entrypoint.exec, []string{beamBoot}; !slices.Equal(got, want) {
					t.Errorf("beam-worker ENTRYPOINT %q, want %q", e.entrypoint.args, want)
				}
				boot := false
				for _, in := range e.copies {
					from, _ := flagValue(in.flags, "from")
					boot = boot || (from == "beam-sdk" && strings.HasPrefix(in.args, "/opt/apache/beam "))
				}
				if !boot {
					t.Error("beam-worker does not COPY --from=beam-sdk /opt/apache/beam")
				}
				if !slices.Contains(df.chain(w), runtime) {
					t.Error("beam-worker is not built FROM runtime (binary and models)")
				}
			})

			t.Run("COPY sources", func(t *testing.T) {
				ignore, err := readDockerignore(filepath.Join(root, "deploy", "docker", tt.file+".dockerignore"))
				if err != nil {
					t.Fatal(err)
				}
				for _, st := range df.stages {
					for _, in := range st.body {
						if in.cmd != "COPY" && in.cmd != "ADD" {
							continue
						}
						if _, ok := flagValue(in.flags, "from"); ok {
							continue
						}
						fields := strings.Fields(in.args)
						for _, src := range fields[:len(fields)-1] {
							p := filepath.Clean(src)
							if _, err := os.Stat(filepath.Join(root, p)); err != nil {
								t.Errorf("line %d: COPY %s: %v", in.line, src, err)
							}
							if p != "." && ignore.excluded(p) {
								t.Errorf("line %d: COPY %s: excluded by %s.dockerignore", in.line, src, tt.file)
							}
						}
					}
				}
				// COPY . . in the build stage: what go build reads must get through.
				for _, p := range buildInputs(t, root) {
					if ignore.excluded(p) {
						t.Errorf("%s is needed by go build but excluded by %s.dockerignore", p, tt.file)
					}
				}
			})
		})
	}
}

// buildInputs are the repository files go build ./cmd/dlmstream reads: go.mod,
// go.sum, the Go files of the module's packages it links and their //go:embed files.
func buildInputs(t *testing.T, root string) []string {
	t.Helper()
	out := []string{"go.mod", "go.sum"}
	embedRE := regexp.MustCompile(`(?m)^//go:embed\s+(.+)$`)
	for _, pkg := range binaryDeps(t, "") {
		rel, err := filepath.Rel(root, pkg.Dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // the standard library and the module cache
		}
		for _, f := range pkg.GoFiles {
			out = append(out, filepath.Join(rel, f))
			src, err := os.ReadFile(filepath.Join(pkg.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range embedRE.FindAllStringSubmatch(string(src), -1) {
				for _, pat := range strings.Fields(m[1]) {
					matches, _ := filepath.Glob(filepath.Join(pkg.Dir, pat))
					for _, mm := range matches {
						r, _ := filepath.Rel(root, mm)
						out = append(out, r)
					}
				}
			}
		}
	}
	return out
}

// TestImageBaseHasGlibc: a CGO_ENABLED=0 binary is only static when nothing
// it links asks for the dynamic loader; purego (kernels/cuda) does, so the
// images' bases need glibc: not scratch, not distroless/static.
func TestImageBaseHasGlibc(t *testing.T) {
	purego := false
	for _, p := range binaryDeps(t, "") {
		purego = purego || strings.HasPrefix(p.ImportPath, "github.com/ebitengine/purego")
	}
	if !purego {
		t.Skip("cmd/dlmstream no longer links purego; a static base would do")
	}
	for _, tt := range dockerfiles {
		df := loadDockerfile(t, tt.file)
		base := df.effective(df.stages[len(df.stages)-1]).base
		if base == "scratch" || strings.HasPrefix(base, "gcr.io/distroless/static") {
			t.Errorf("%s: final image on %s, which has no dynamic loader: the binary links purego (readelf: interpreter /lib64/ld-linux-x86-64.so.2)", tt.file, base)
		}
	}
}

// TestCUDAImage checks Dockerfile.cuda against kernels/cuda: the CUDA major
// version, the libraries it opens and the folders it searches.
func TestCUDAImage(t *testing.T) {
	root := repoRoot(t)
	df := loadDockerfile(t, "Dockerfile.cuda")
	rt := df.stage("runtime")
	if rt == nil {
		t.Fatal("no runtime stage")
	}
	tag := imageTag(rt.image)
	if !regexp.MustCompile(`^13\.\d+\.\d+-runtime-ubuntu\d+\.\d+$`).MatchString(tag) {
		t.Errorf("runtime FROM %s: want a CUDA 13.x.y runtime tag (cuBLAS and NVRTC; base lacks them)", rt.image)
	}
	e := df.effective(rt)
	if got := e.env["NVIDIA_VISIBLE_DEVICES"]; got == "" {
		t.Error("ENV NVIDIA_VISIBLE_DEVICES unset")
	}
	if caps := strings.Split(e.env["NVIDIA_DRIVER_CAPABILITIES"], ","); !slices.Contains(caps, "compute") {
		t.Errorf("NVIDIA_DRIVER_CAPABILITIES=%q: want compute (libcuda.so.1)", e.env["NVIDIA_DRIVER_CAPABILITIES"])
	}
	var check string
	for _, in := range rt.body {
		if in.cmd == "RUN" {
			check += in.args + "\n"
		}
	}
	// The first (preferred) name kernels/cuda opens for each library.
	for file, lib := range map[string]string{"cublas.go": "libcublas", "nvrtc.go": "libnvrtc"} {
		src, err := os.ReadFile(filepath.Join(root, "kernels", "cuda", file))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`"(` + lib + `\.so\.\d+)"`).FindStringSubmatch(string(src))
		if m == nil {
			t.Fatalf("kernels/cuda/%s names no %s.so.N", file, lib)
		}
		if !strings.Contains(check, m[1]) {
			t.Errorf("Dockerfile.cuda does not check for %s, which kernels/cuda/%s opens first", m[1], file)
		}
		if want := "so." + strings.SplitN(tag, ".", 2)[0]; !strings.HasSuffix(m[1], want) {
			t.Errorf("kernels/cuda opens %s first, the image is CUDA %s", m[1], tag)
		}
	}
	lib, err := os.ReadFile(filepath.Join(root, "kernels", "cuda", "lib.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range regexp.MustCompile(`/usr/local/cuda[\w/.-]*`).FindAllString(check, -1) {
		dir = strings.TrimSuffix(dir, "/")
		if !strings.Contains(string(lib), `"`+dir+`"`) {
			t.Errorf("Dockerfile.cuda checks %s, which kernels/cuda/lib.go does not search", dir)
		}
	}
}
