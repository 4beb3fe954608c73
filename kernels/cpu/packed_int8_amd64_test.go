//go:build amd64

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sameBits fails unless got and want are equal bit for bit, and got[len(want)]
// (a guard past out) is still 7.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: out[%d] = %v, generic %v", what, i, got[i], want[i])
		}
	}
	if got[len(want)] != 7 {
		t.Fatalf("%s: wrote past out[m*n]", what)
	}
}

// TestMatMulPackedInt8VNNI: the VNNI kernels give the generic twin's bits
// for every m in 1..40 on ragged shapes (n around the strips, k = 1, odd,
// not a multiple of 4), with the default tiles, 1 and 2 threads.
func TestMatMulPackedInt8VNNI(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX512_VNNI")
	}
	defer SetThreads(numThreads())
	for _, sh := range int8Shapes {
		n, k := sh.n, sh.k
		rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
		w, sc := randI8(rng, n*k), randF32(rng, n, 0.01)
		pw := PackInt8(w, sc, n, k)
		for m := 1; m <= 40; m++ {
			x := randF32(rng, m*k, 3)
			want := make([]float32, m*n)
			matMulPackedInt8Generic(want, x, pw, m)
			for _, th := range []int{1, 2} {
				SetThreads(th)
				got := make([]float32, m*n+1)
				got[m*n] = 7
				matMulPackedInt8VNNI(got[:m*n], x, pw, m)
				sameBits(t, fmt.Sprintf("m%d_n%d_k%d/t%d", m, n, k, th), got, want)
			}
		}
	}
}

// TestMatMulPackedInt8Tiles runs every register tile on the same inputs:
// all give the generic bits (the int32 sums are exact, whatever the tiling).
func TestMatMulPackedInt8Tiles(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX512_VNNI")
	}
	defer func(f func(int) (int, int)) { qdpTile = f }(qdpTile)
	for _, sh := range []matShape{{1, 150, 33}, {7, 45, 64}, {19, 100, 129}} {
		m, n, k := sh.m, sh.n, sh.k
		rng := rand.New(rand.NewPCG(uint64(m), uint64(k)))
		x, w, sc := randF32(rng, m*k, 1), randI8(rng, n*k), randF32(rng, n, 0.01)
		pw := PackInt8(w, sc, n, k)
		want := make([]float32, m*n)
		matMulPackedInt8Generic(want, x, pw, m)
		for R := range qdpKernels {
			for C := range qdpKernels[R] {
				if qdpKernels[R][C] == nil || qdpKernels[min(R, m-1)][C] == nil {
					continue
				}
				qdpTile = func(int) (int, int) { return R + 1, C + 1 }
				got := make([]float32, m*n+1)
				got[m*n] = 7
				matMulPackedInt8VNNI(got[:m*n], x, pw, m)
				sameBits(t, fmt.Sprintf("m%d_n%d_k%d/%dx%d", m, n, k, R+1, C+1), got, want)
			}
		}
	}
}

// TestMatMulPackedInt8Wrap: VPDPBUSD's int32 sums wrap like Go's, so
// extreme weights (all ±127 against x̂ = ±127, |Σ| near 2³¹ at k = 131,068)
// still give the generic bits.
func TestMatMulPackedInt8Wrap(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX512_VNNI")
	}
	const m, n, k = 2, 17, 131068
	w, sc := make([]int8, n*k), make([]float32, n)
	for j := range n {
		sc[j] = 1
		for p := range k {
			w[j*k+p] = int8(127 - 254*((j+p)%2*(j%3)/2))
		}
	}
	x := make([]float32, m*k)
	for p := range k {
		x[p], x[k+p] = 1, float32(1-2*(p%2))
	}
	pw := PackInt8(w, sc, n, k)
	want := make([]float32, m*n)
	matMulPackedInt8Generic(want, x, pw, m)
	got := make([]float32, m*n+1)
	got[m*n] = 7
	matMulPackedInt8VNNI(got[:m*n], x, pw, m)
	sameBits(t, "wrap", got, want)
	if d := math.Abs(float64(want[0])/(127*k) - 1); d > 1e-6 {
		t.Errorf("out[0,0] = %v, want ≈ %d", want[0], 127*k)
	}
}
