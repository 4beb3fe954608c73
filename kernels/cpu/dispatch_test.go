package cpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
)

// TestFastMatchesGeneric runs every path on the same inputs in one process
// (calling the impl fields directly, as DLMSTREAM_KERNELS=generic would select
// generic) and compares outputs: |fast - generic| <= tol · Σ|x·w|.
func TestFastMatchesGeneric(t *testing.T) {
	for _, p := range available()[1:] {
		for _, sh := range []matShape{{1, 96, 2048}, {4, 37, 1000}, {8, 64, 333}, {32, 20, 64}} {
			m, n, k := sh.m, sh.n, sh.k
			t.Run(fmt.Sprintf("%s/m%d_n%d_k%d", p.name, m, n, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(k), uint64(n)))
				x := randF32(rng, m*k, 1)
				mag := make([]float64, m*n)
				wb := randBF16(rng, n*k, 0.05)
				wf := randF32(rng, n*k, 0.05)
				wi := randI8(rng, n*k)
				sc := randF32(rng, n, 0.01)
				for i := range m {
					for j := range n {
						for q := range k {
							mag[i*n+j] += abs64(float64(x[i*k+q]) * float64(wf[j*k+q]))
						}
					}
				}
				check := func(what string, fast, gen []float32, tol float64, mag []float64) {
					t.Helper()
					for i := range gen {
						if d := abs64(float64(fast[i]) - float64(gen[i])); d > tol*mag[i]+1e-30 {
							t.Fatalf("%s: out[%d] fast %v generic %v", what, i, fast[i], gen[i])
						}
					}
				}
				a, g := make([]float32, m*n), make([]float32, m*n)
				p.matMulF32(a, x, wf, m, n, k)
				generic.matMulF32(g, x, wf, m, n, k)
				check("F32", a, g, 2*tolF32, mag)

				magB := bf16Mag(x, wb, m, n, k)
				p.matMulBF16(a, x, wb, m, n, k)
				generic.matMulBF16(g, x, wb, m, n, k)
				check("BF16", a, g, 2*bf16Tol(p), magB)

				magI := make([]float64, m*n)
				for i := range m {
					for j := range n {
						for q := range k {
							magI[i*n+j] += abs64(float64(x[i*k+q]) * float64(wi[j*k+q]) * float64(sc[j]))
						}
					}
				}
				p.matMulInt8(a, x, wi, sc, m, n, k)
				generic.matMulInt8(g, x, wi, sc, m, n, k)
				check("Int8", a, g, 2*tolInt8, magI)
			})
		}
	}
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func bf16Mag(x []float32, w []uint16, m, n, k int) []float64 {
	f := make([]float32, len(w))
	BF16ToF32(f, w)
	mag := make([]float64, m*n)
	for i := range m {
		for j := range n {
			for q := range k {
				mag[i*n+j] += abs64(float64(x[i*k+q]) * float64(f[j*k+q]))
			}
		}
	}
	return mag
}

// TestEnvForcesPath re-runs this test binary with DLMSTREAM_KERNELS set and
// checks what Path reports in the child.
func TestEnvForcesPath(t *testing.T) {
	if want := os.Getenv("DLMSTREAM_KERNELS_WANT"); want != "" {
		if got := Path(); got != want {
			t.Fatalf("child: Path() = %q with %s=%q, want %q", got, EnvKernels, os.Getenv(EnvKernels), want)
		}
		return
	}
	cases := map[string]string{"generic": "generic", "no-such-path": fast.name, "": fast.name}
	for _, p := range available() {
		cases[p.name] = p.name
	}
	for env, want := range cases {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEnvForcesPath$")
		cmd.Env = append(os.Environ(), EnvKernels+"="+env, "DLMSTREAM_KERNELS_WANT="+want)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s=%q: %v\n%s", EnvKernels, env, err, out)
		}
	}
}

func TestSetThreads(t *testing.T) {
	defer SetThreads(numThreads())
	rng := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 3, 77, 64
	x, w := randF32(rng, m*k, 1), randBF16(rng, n*k, 0.1)
	ref := make([]float32, m*n)
	SetThreads(1)
	MatMulBF16(ref, x, w, m, n, k)
	for _, th := range []int{0, 2, 3, 16} {
		SetThreads(th)
		got := make([]float32, m*n)
		MatMulBF16(got, x, w, m, n, k)
		for i := range ref {
			if got[i] != ref[i] {
				t.Fatalf("threads=%d: out[%d] = %v, single-thread %v", th, i, got[i], ref[i])
			}
		}
	}
}
