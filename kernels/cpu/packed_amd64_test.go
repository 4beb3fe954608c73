//go:build amd64

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulPackedTiles runs every register tile and several k chunks on
// the same inputs: all give the generic packed bits (each output is one
// accumulation chain in k order, whatever the tiling).
func TestMatMulPackedTiles(t *testing.T) {
	if !hasAVX512BF16 {
		t.Skip("no AVX512_BF16")
	}
	defer func(f func(int) (int, int), kc int) { bfpTile, bfpKChunk = f, kc }(bfpTile, bfpKChunk)
	for _, sh := range []matShape{{1, 70, 33}, {7, 45, 64}, {19, 100, 129}} {
		m, n, k := sh.m, sh.n, sh.k
		rng := rand.New(rand.NewPCG(uint64(m), uint64(k)))
		x, w := randF32(rng, m*k, 1), randBF16(rng, n*k, 0.1)
		pw := packBF16(nil, w, n, k, packPairs)
		ref := make([]float32, m*n)
		matMulPackedGeneric(ref, x, pw, m)
		for R := 1; R <= 8; R++ {
			for C := 1; C <= 4; C++ {
				if R*C > 24 {
					continue
				}
				tile := [2]int{R, C}
				for _, kc := range []int{0, 1, 5, 128} {
					bfpTile = func(int) (int, int) { return tile[0], tile[1] }
					bfpKChunk = kc
					t.Run(fmt.Sprintf("m%d_n%d_k%d/%dx%d/kc%d", m, n, k, tile[0], tile[1], kc), func(t *testing.T) {
						got := make([]float32, m*n)
						matMulPackedAVX512(got, x, pw, m)
						for i := range ref {
							if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
								t.Fatalf("out[%d] = %v, generic %v", i, got[i], ref[i])
							}
						}
					})
				}
			}
		}
	}
}

// TestCvtBF16 checks the 16-lane converter against bf16() on edge values.
func TestCvtBF16(t *testing.T) {
	if !hasAVX512BF16 {
		t.Skip("no AVX512_BF16")
	}
	src := []float32{0, -0, 1, -1, 1.00390625, 1.0078125 + 1.0/512, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00001), math.MaxFloat32,
		math.SmallestNonzeroFloat32, math.Float32frombits(0x3f80_8000), math.Float32frombits(0x3f81_8000), math.Float32frombits(0x7f7f_ffff)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 16 * 64 {
		src = append(src, math.Float32frombits(rng.Uint32()))
	}
	got := make([]uint16, len(src))
	cvtBF16AVX512(got, src)
	for i, f := range src {
		if want := bf16(f); got[i] != want {
			t.Fatalf("cvtBF16(%#08x) = %#04x, bf16() %#04x", math.Float32bits(f), got[i], want)
		}
	}
}

// TestMatMulPackedColsTiles runs every exact AVX2 register tile (bfc
// kernels) and several k chunks on the same inputs: all give the generic
// packCols bits (each output is one FMA chain in k order, whatever the
// tiling), ragged last strips included.
func TestMatMulPackedColsTiles(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 + FMA")
	}
	defer func(f func(int) (int, int), kc int) { bfcTile, bfcKChunk = f, kc }(bfcTile, bfcKChunk)
	for _, sh := range []matShape{{1, 70, 33}, {2, 100, 5}, {7, 45, 64}, {19, 100, 129}} {
		m, n, k := sh.m, sh.n, sh.k
		rng := rand.New(rand.NewPCG(uint64(m), uint64(k)))
		x, w := randF32(rng, m*k, 1), randBF16(rng, n*k, 0.1)
		pw := packBF16(nil, w, n, k, packCols)
		ref := make([]float32, m*n)
		matMulPackedGeneric(ref, x, pw, m)
		for R := 1; R <= len(bfcKernels); R++ {
			for S := 1; S <= len(bfcKernels[0]); S++ {
				if bfcKernels[R-1][S-1] == nil {
					continue
				}
				tile := [2]int{R, S}
				for _, kc := range []int{0, 1, 5, 128} {
					bfcTile = func(int) (int, int) { return tile[0], tile[1] }
					bfcKChunk = kc
					t.Run(fmt.Sprintf("m%d_n%d_k%d/%dx%d/kc%d", m, n, k, R, S, kc), func(t *testing.T) {
						got := make([]float32, m*n+1)
						got[m*n] = 7
						matMulPackedAVX2(got[:m*n], x, pw, m)
						for i := range ref {
							if math.Float32bits(got[i]) != math.Float32bits(ref[i]) {
								t.Fatalf("out[%d] = %v, generic %v", i, got[i], ref[i])
							}
						}
						if got[m*n] != 7 {
							t.Fatal("wrote past out[m*n]")
						}
					})
				}
			}
		}
	}
}
