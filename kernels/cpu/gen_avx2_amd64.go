//go:build ignore

// gen_avx2_amd64.go is the AVX2 + FMA part of the generator (go generate
// runs it with gen_amd64.go): kernels for CPUs without AVX-512, 8 fp32
// lanes in 16 ymm registers.
package main

import (
	"bytes"
	"fmt"
)

// pvAVX2Tiles lists the (R, W) tiles of the AVX2 P·V kernels: R rows of p
// (1..4) × W ymm columns of v (1..3), R·W accumulators in Y0..Y11, v in
// Y12..Y14, the broadcast p[r, j] in Y15 (one row at a time; renaming
// keeps the rows independent).
func pvAVX2Tiles() [][2]int {
	var l [][2]int
	for R := 1; R <= 4; R++ {
		for W := 1; W <= 3; W++ {
			l = append(l, [2]int{R, W})
		}
	}
	return l
}

// genPVAVX2 writes pvavx2{R}x{W}: o[r, 0:8W] += Σ_{j<nk} p[r, j] · v[j, 0:8W]
// for r < R, genPV's kernel on 8-lane ymm vectors. Each step loads v row j
// once (W vectors) and reuses it for all R rows: R·W VFMADD231PS per W
// loads and R broadcasts. v row j+32 is prefetched (rows of one kv head
// are nKV·headDim floats apart, which the hardware prefetcher may not
// follow). Arguments as genPV: o *float32, ldo (bytes between o rows),
// p *float32, ldp, v unsafe.Pointer, ldv, nk.
func genPVAVX2(b *bytes.Buffer, R, W int) {
	name := fmt.Sprintf("pvavx2%dx%d", R, W)
	fmt.Fprintf(b, "// func %s(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)\n", name)
	fmt.Fprintf(b, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	b.WriteString("\tMOVQ o+0(FP), DX\n\tMOVQ ldo+8(FP), R8\n\tMOVQ p+16(FP), SI\n\tMOVQ ldp+24(FP), R9\n\tMOVQ v+32(FP), DI\n\tMOVQ ldv+40(FP), R11\n\tMOVQ nk+48(FP), CX\n")
	b.WriteString("\tLEAQ (R9)(R9*2), R10\n\tMOVQ DX, R12\n\tMOVQ R11, R13\n\tSHLQ $5, R13\n") // R13 = 32 v rows
	for r := 0; r < R; r++ {
		for w := 0; w < W; w++ {
			fmt.Fprintf(b, "\tVMOVUPS %d(R12), Y%d\n", 32*w, r*W+w)
		}
		if r < R-1 {
			b.WriteString("\tADDQ R8, R12\n")
		}
	}
	fmt.Fprintf(b, "\tTESTQ CX, CX\n\tJEQ %sdone\n%sloop:\n", name, name)
	// Every cache line of v row j+32's 32W bytes, whatever its alignment.
	for off := 0; off < 32*W; off += 64 {
		fmt.Fprintf(b, "\tPREFETCHT0 %d(DI)(R13*1)\n", off)
	}
	fmt.Fprintf(b, "\tPREFETCHT0 %d(DI)(R13*1)\n", 32*W-1)
	for w := 0; w < W; w++ {
		fmt.Fprintf(b, "\tVMOVUPS %d(DI), Y%d\n", 32*w, 12+w)
	}
	for r := 0; r < R; r++ {
		fmt.Fprintf(b, "\tVBROADCASTSS %s, Y15\n", pAddr[r])
		for w := 0; w < W; w++ {
			fmt.Fprintf(b, "\tVFMADD231PS Y%d, Y15, Y%d\n", 12+w, r*W+w)
		}
	}
	fmt.Fprintf(b, "\tADDQ $4, SI\n\tADDQ R11, DI\n\tDECQ CX\n\tJNZ %sloop\n%sdone:\n", name, name)
	for r := 0; r < R; r++ {
		for w := 0; w < W; w++ {
			fmt.Fprintf(b, "\tVMOVUPS Y%d, %d(DX)\n", r*W+w, 32*w)
		}
		if r < R-1 {
			b.WriteString("\tADDQ R8, DX\n")
		}
	}
	b.WriteString("\tVZEROUPPER\n\tRET\n\n")
}

// bfcTiles lists the (R, V) register tiles of the exact packed-bf16
// kernels: R rows of x × V ymm vectors of 8 output columns (V/2 strips of
// 16): R·V accumulators in Y0.., the V widened weight vectors after them,
// the broadcast x[r, p] in Y14 and zero in Y15, so R·V + V ≤ 14: V = 2
// (one strip) up to 6 rows, V = 4 up to 2, V = 6 at 1.
func bfcTiles() [][2]int {
	l := [][2]int{{1, 6}}
	for R := 1; R <= 6; R++ {
		for _, V := range []int{2, 4} {
			if R*V+V <= 14 {
				l = append(l, [2]int{R, V})
			}
		}
	}
	return l
}

// x row addresses of the exact packed kernels: rows 0-3 from DI, 4-5 from
// BX (= DI + 4·ldx); R11 = ldx, R12 = 3·ldx. Strip addresses: SI, SI+R9,
// SI+2·R9 (R9 = lds).
var (
	bfcXAddr = []string{"(DI)", "(DI)(R11*1)", "(DI)(R11*2)", "(DI)(R12*1)", "(BX)", "(BX)(R11*1)"}
	bfcWAddr = []string{"(SI)", "(SI)(R9*1)", "(SI)(R9*2)"}
)

// genBFC writes bfc{R}x{V}, the exact fp32 kernel on bf16 weights packed in
// column strips (PackedBF16, packCols: strips of 16 output columns, each
// [k][16] bf16 with the column quads in the order 0, 2, 1, 3) and fp32
// activations x [R][ldx/4]:
//
//	out[r, 8v+l] (+)= Σ_{p<nk} x[r, p]·w[8v+l, p]    (one FMA chain in p order)
//
// for r < R, v < V, l < 8. Each step widens the strips' 16 bf16 of step p
// exactly to fp32 with one VPUNPCKLWD / VPUNPCKHWD against zero per 8
// columns (bf16 bits into the high half of each dword: columns 0-7 and
// 8-15 of the strip, hence the quad order), broadcasts x[r, p] per row
// (VBROADCASTSS) and issues R·V VFMADD231PS into accumulators of 8 outputs:
// no horizontal sums, and the bits of every output are those of the
// sequential fp32 FMA chain, whatever the tile. With acc != 0 the
// accumulators start from out (k split in chunks, same bits). Arguments:
// out *float32, ldo (bytes between out rows), w unsafe.Pointer (strip 0 at
// step 0), lds (bytes between strips), x unsafe.Pointer (row 0 at step 0),
// ldx (bytes between x rows), nk (steps), acc.
func genBFC(b *bytes.Buffer, R, V int) {
	name := fmt.Sprintf("bfc%dx%d", R, V)
	fmt.Fprintf(b, "// func %s(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nk int, acc int)\n", name)
	fmt.Fprintf(b, "TEXT ·%s(SB), NOSPLIT, $0-64\n", name)
	b.WriteString("\tMOVQ out+0(FP), DX\n\tMOVQ ldo+8(FP), R8\n\tMOVQ w+16(FP), SI\n\tMOVQ lds+24(FP), R9\n\tMOVQ x+32(FP), DI\n\tMOVQ ldx+40(FP), R11\n\tMOVQ nk+48(FP), CX\n")
	if R >= 4 {
		b.WriteString("\tLEAQ (R11)(R11*2), R12\n")
	}
	if R > 4 {
		b.WriteString("\tLEAQ (DI)(R11*4), BX\n")
	}
	acc := func(r, v int) int { return r*V + v }
	wReg := R * V
	for r := 0; r < R; r++ {
		for v := 0; v < V; v++ {
			fmt.Fprintf(b, "\tVXORPS Y%d, Y%d, Y%d\n", acc(r, v), acc(r, v), acc(r, v))
		}
	}
	fmt.Fprintf(b, "\tCMPQ acc+56(FP), $0\n\tJEQ %sloopstart\n\tMOVQ DX, AX\n", name)
	for r := 0; r < R; r++ {
		for v := 0; v < V; v++ {
			fmt.Fprintf(b, "\tVMOVUPS %d(AX), Y%d\n", 32*v, acc(r, v))
		}
		if r < R-1 {
			b.WriteString("\tADDQ R8, AX\n")
		}
	}
	fmt.Fprintf(b, "%sloopstart:\n\tVPXOR Y15, Y15, Y15\n\tTESTQ CX, CX\n\tJEQ %sdone\n%sloop:\n", name, name, name)
	for s := 0; s < V/2; s++ {
		fmt.Fprintf(b, "\tVPUNPCKLWD %s, Y15, Y%d\n", bfcWAddr[s], wReg+2*s)
		fmt.Fprintf(b, "\tVPUNPCKHWD %s, Y15, Y%d\n", bfcWAddr[s], wReg+2*s+1)
	}
	for r := 0; r < R; r++ {
		fmt.Fprintf(b, "\tVBROADCASTSS %s, Y14\n", bfcXAddr[r])
		for v := 0; v < V; v++ {
			fmt.Fprintf(b, "\tVFMADD231PS Y%d, Y14, Y%d\n", wReg+v, acc(r, v))
		}
	}
	b.WriteString("\tADDQ $32, SI\n\tADDQ $4, DI\n")
	if R > 4 {
		b.WriteString("\tADDQ $4, BX\n")
	}
	fmt.Fprintf(b, "\tDECQ CX\n\tJNZ %sloop\n%sdone:\n", name, name)
	for r := 0; r < R; r++ {
		for v := 0; v < V; v++ {
			fmt.Fprintf(b, "\tVMOVUPS Y%d, %d(DX)\n", acc(r, v), 32*v)
		}
		if r < R-1 {
			b.WriteString("\tADDQ R8, DX\n")
		}
	}
	b.WriteString("\tVZEROUPPER\n\tRET\n\n")
}

// writeBFC writes bfcols_amd64.s, the exact packed-bf16 kernels.
func writeBFC() {
	var b bytes.Buffer
	b.WriteString("// Code generated by gen_amd64.go; DO NOT EDIT.\n\n//go:build amd64\n\n#include \"textflag.h\"\n\n")
	for _, t := range bfcTiles() {
		genBFC(&b, t[0], t[1])
	}
	write("bfcols_amd64.s", &b)
}
