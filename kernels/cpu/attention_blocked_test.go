package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnOps checks the scores and pv inner loops of every attnOps this CPU
// runs against float64 references and against scalarAttnOps: head sizes on
// and off the 8- and 16-lane grids (pv's column tiles and its scalar tail
// past headDim &^ 7), 1..16 rows (the 4-row tiles and their remainders),
// key counts around the 256-key chunks, and a kv head other than 0 of
// several (strided keys and values).
func TestAttnOps(t *testing.T) {
	const nKV, kvh, rows = 3, 1, 16
	for _, d := range []int{8, 12, 16, 24, 32, 33, 40, 48, 64, 80, 128} {
		for _, L := range []int{1, 3, 256, 257, 600} {
			// Inputs and references for 16 rows; each run uses the first nr
			// (row r of S and O depends on row r of qs and P only).
			rng := rand.New(rand.NewPCG(uint64(d), uint64(L)))
			qs := randF32(rng, rows*d, 1)
			k := randF32(rng, L*nKV*d, 1)
			v := randF32(rng, L*nKV*d, 1)
			P := randF32(rng, rows*L, 1)
			for i := range P {
				P[i] = max(P[i], 0) // probabilities: some exact zeros
			}
			wantS, magS := make([]float64, rows*L), make([]float64, rows*L)
			wantO, magO := make([]float64, rows*d), make([]float64, rows*d)
			for r := range rows {
				for j := range L {
					for x := range d {
						s := float64(qs[r*d+x]) * float64(k[(j*nKV+kvh)*d+x])
						wantS[r*L+j] += s
						magS[r*L+j] += math.Abs(s)
						o := float64(P[r*L+j]) * float64(v[(j*nKV+kvh)*d+x])
						wantO[r*d+x] += o
						magO[r*d+x] += math.Abs(o)
					}
				}
			}
			S0, O0 := make([]float32, rows*L), make([]float32, rows*d)
			scalarAttnOps.scores(S0, L, qs, rows, d, k, kvh, nKV)
			scalarAttnOps.pv(O0, P, L, rows, d, v, kvh, nKV)
			for _, ops := range attnOpsList() {
				if ops.align > 1 && d%ops.align != 0 {
					continue
				}
				for _, nr := range []int{1, 2, 3, 4, 5, 7, 8, 13, 16} {
					t.Run(fmt.Sprintf("%s/d%d_L%d_nr%d", ops.name, d, L, nr), func(t *testing.T) {
						S := randF32(rng, nr*L, 9) // garbage: overwritten
						ops.scores(S, L, qs, nr, d, k, kvh, nKV)
						for i, got := range S {
							if math.Abs(float64(got)-wantS[i]) > 1e-6*magS[i] || math.Abs(float64(got-S0[i])) > 2e-6*magS[i] {
								t.Fatalf("S[%d,%d] = %v, want %v (scalar %v)", i/L, i%L, got, wantS[i], S0[i])
							}
						}
						O := randF32(rng, nr*d, 9)
						ops.pv(O, P, L, nr, d, v, kvh, nKV)
						for i, got := range O {
							if math.Abs(float64(got)-wantO[i]) > 1e-6*magO[i]+1e-30 || math.Abs(float64(got-O0[i])) > 2e-6*magO[i]+1e-30 {
								t.Fatalf("O[%d,%d] = %v, want %v (scalar %v)", i/d, i%d, got, wantO[i], O0[i])
							}
						}
					})
				}
			}
		}
	}
}
