//go:build ignore

// gen_amd64.go writes matmul_amd64.s: register-blocked AVX-512 and AVX2
// matmul micro-kernels and the AVX-512 and AVX2 P·V kernels of attention
// (the AVX2 ones from gen_avx2_amd64.go, which go generate runs with this
// file); and
// bfpanel_amd64.s: the VDPBF16PS kernels on packed bf16 weights (genBFP)
// and the 16-lane bf16 rounding of activations (genCvtBF16); and
// bfcols_amd64.s: the exact AVX2 kernels on bf16 weights packed in column
// strips (gen_avx2_amd64.go, genBFC). Run `go generate ./kernels/cpu`
// after editing.
//
// Every matmul kernel computes a tile of R rows of x (R = 1..4; AVX2: 1..2)
// against 4 weight rows:
//
//	tile[r*4+c] = Σ_{p < nblk*B} x[r, p] · w[c, p]       r < R, c < 4
//
// with 16 (AVX2: 8) fp32 accumulator lanes per (r, c) and a horizontal sum at the end.
// Each weight vector is loaded once per step and reused by all R rows.
// Arguments: tile *float32, w unsafe.Pointer (row 0), ldw (bytes between
// weight rows), x unsafe.Pointer (row 0), ldx (bytes between x rows), nblk.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// kind is one weight format.
type kind struct {
	name  string
	wStep int // bytes of w per row per block
	xStep int // bytes of x per row per block
	loadW func(b *bytes.Buffer, addr string, reg int)
	loadX func(b *bytes.Buffer, addr string, r int)
	mac   func(b *bytes.Buffer, acc, w, r int)
	mac2  func(b *bytes.Buffer, acc, w, r int) // optional second pass (dpbf16: the lo half)
	avx2  bool                                 // 16 ymm registers: Y regs, w in Y8..Y11, x in Y12.., R <= 2
	doc   string
}

// vdpbf16ps returns the EVEX bytes of vdpbf16ps zmm(dst), zmm(src1), zmm(src2)
// (dst += Σ pairwise bf16 src1·src2). Go's assembler has no mnemonic for it.
func vdpbf16ps(dst, src1, src2 int) string {
	inv := func(v, bit int) int { return ^(v >> bit) & 1 }
	p0 := inv(dst, 3)<<7 | inv(src2, 4)<<6 | inv(src2, 3)<<5 | inv(dst, 4)<<4 | 0b0010
	p1 := (^src1&15)<<3 | 1<<2 | 0b10
	p2 := 0b10<<5 | inv(src1, 4)<<3
	modrm := 0xc0 | (dst&7)<<3 | src2&7
	return fmt.Sprintf("BYTE $0x62; BYTE $0x%02x; BYTE $0x%02x; BYTE $0x%02x; BYTE $0x52; BYTE $0x%02x // VDPBF16PS Z%d, Z%d, Z%d",
		p0, p1, p2, modrm, src2, src1, dst)
}

var kinds = []kind{
	{
		name: "dpbf16", wStep: 64, xStep: 128,
		doc: "w: bf16 [4][ldw/2], 32 per block; x: pre-split bf16 [R][nblk][hi 32, lo 32]",
		loadW: func(b *bytes.Buffer, addr string, reg int) {
			fmt.Fprintf(b, "\tVMOVDQU32 %s, Z%d\n", addr, reg)
		},
		loadX: func(b *bytes.Buffer, addr string, r int) {
			fmt.Fprintf(b, "\tVMOVDQU32 %s, Z%d\n", addr, 20+2*r)
			fmt.Fprintf(b, "\tVMOVDQU32 64%s, Z%d\n", addr, 21+2*r)
		},
		mac: func(b *bytes.Buffer, acc, w, r int) {
			fmt.Fprintf(b, "\t%s\n", vdpbf16ps(acc, w, 20+2*r))
		},
		mac2: func(b *bytes.Buffer, acc, w, r int) {
			fmt.Fprintf(b, "\t%s\n", vdpbf16ps(acc, w, 21+2*r))
		},
	},
	{
		name: "dpbf16hi", wStep: 64, xStep: 64,
		doc: "w: bf16 [4][ldw/2], 32 per block; x: bf16 [R][nblk][32] (activations rounded to bf16)",
		loadW: func(b *bytes.Buffer, addr string, reg int) {
			fmt.Fprintf(b, "\tVMOVDQU32 %s, Z%d\n", addr, reg)
		},
		loadX: func(b *bytes.Buffer, addr string, r int) {
			fmt.Fprintf(b, "\tVMOVDQU32 %s, Z%d\n", addr, 20+2*r)
		},
		mac: func(b *bytes.Buffer, acc, w, r int) {
			fmt.Fprintf(b, "\t%s\n", vdpbf16ps(acc, w, 20+2*r))
		},
	},
	{
		name: "bf16", wStep: 32, xStep: 64,
		doc: "w: bf16 [4][ldw/2] widened exactly to fp32, 16 per block; x: fp32",
		loadW: func(b *bytes.Buffer, addr string, reg int) {
			fmt.Fprintf(b, "\tVPMOVZXWD %s, Z%d\n", addr, reg)
			fmt.Fprintf(b, "\tVPSLLD $16, Z%d, Z%d\n", reg, reg)
		},
		loadX: loadXF32,
		mac:   fma,
	},
	{
		name: "f32", wStep: 64, xStep: 64,
		doc:   "w: fp32 [4][ldw/4], 16 per block; x: fp32",
		loadW: func(b *bytes.Buffer, addr string, reg int) { fmt.Fprintf(b, "\tVMOVUPS %s, Z%d\n", addr, reg) },
		loadX: loadXF32,
		mac:   fma,
	},
	{
		name: "i8", wStep: 16, xStep: 64,
		doc: "w: int8 [4][ldw] widened exactly to fp32, 16 per block; x: fp32",
		loadW: func(b *bytes.Buffer, addr string, reg int) {
			fmt.Fprintf(b, "\tVPMOVSXBD %s, Z%d\n", addr, reg)
			fmt.Fprintf(b, "\tVCVTDQ2PS Z%d, Z%d\n", reg, reg)
		},
		loadX: loadXF32,
		mac:   fma,
	},
}

// AVX2 + FMA kernels for CPUs without AVX-512: 8 fp32 lanes, R <= 2.
var avx2Kinds = []kind{
	{
		name: "bf16avx2", wStep: 16, xStep: 32, avx2: true,
		doc: "AVX2: w bf16 widened exactly to fp32, 8 per block; x: fp32",
		loadW: func(b *bytes.Buffer, addr string, reg int) {
			fmt.Fprintf(b, "\tVPMOVZXWD %s, Y%d\n\tVPSLLD $16, Y%d, Y%d\n", addr, reg, reg, reg)
		},
		loadX: loadXAVX2, mac: fmaAVX2,
	},
	{
		name: "f32avx2", wStep: 32, xStep: 32, avx2: true,
		doc:   "AVX2: w fp32, 8 per block; x: fp32",
		loadW: func(b *bytes.Buffer, addr string, reg int) { fmt.Fprintf(b, "\tVMOVUPS %s, Y%d\n", addr, reg) },
		loadX: loadXAVX2, mac: fmaAVX2,
	},
	{
		name: "i8avx2", wStep: 8, xStep: 32, avx2: true,
		doc: "AVX2: w int8 widened exactly to fp32, 8 per block; x: fp32",
		loadW: func(b *bytes.Buffer, addr string, reg int) {
			fmt.Fprintf(b, "\tVPMOVSXBD %s, Y%d\n\tVCVTDQ2PS Y%d, Y%d\n", addr, reg, reg, reg)
		},
		loadX: loadXAVX2, mac: fmaAVX2,
	},
}

func loadXAVX2(b *bytes.Buffer, addr string, r int) {
	fmt.Fprintf(b, "\tVMOVUPS %s, Y%d\n", addr, 12+r)
}

func fmaAVX2(b *bytes.Buffer, acc, w, r int) {
	fmt.Fprintf(b, "\tVFMADD231PS Y%d, Y%d, Y%d\n", 12+r, w, acc)
}

func loadXF32(b *bytes.Buffer, addr string, r int) { fmt.Fprintf(b, "\tVMOVUPS %s, Z%d\n", addr, 20+r) }

func fma(b *bytes.Buffer, acc, w, r int) {
	fmt.Fprintf(b, "\tVFMADD231PS Z%d, Z%d, Z%d\n", 20+r, w, acc)
}

var wAddr = []string{"(SI)", "(SI)(R9*1)", "(SI)(R9*2)", "(SI)(R10*1)"}
var xAddr = []string{"(DI)", "(DI)(R11*1)", "(DI)(R11*2)", "(DI)(R12*1)"}

func gen(b *bytes.Buffer, k kind, R int) {
	name := fmt.Sprintf("%s%dx4", k.name, R)
	fmt.Fprintf(b, "// func %s(tile *float32, w unsafe.Pointer, ldw int, x unsafe.Pointer, ldx int, nblk int)\n", name)
	fmt.Fprintf(b, "// %s\n", k.doc)
	fmt.Fprintf(b, "TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	b.WriteString("\tMOVQ tile+0(FP), DX\n\tMOVQ w+8(FP), SI\n\tMOVQ ldw+16(FP), R9\n\tMOVQ x+24(FP), DI\n\tMOVQ ldx+32(FP), R11\n\tMOVQ nblk+40(FP), CX\n")
	b.WriteString("\tLEAQ (R9)(R9*2), R10\n\tLEAQ (R11)(R11*2), R12\n")
	// R13 = weight row 16 (four tiles ahead): far enough ahead to cover DRAM latency.
	b.WriteString("\tMOVQ R9, R13\n\tSHLQ $4, R13\n\tADDQ SI, R13\n")
	wReg := 16
	for a := 0; a < 4*R; a++ {
		if k.avx2 {
			fmt.Fprintf(b, "\tVXORPS Y%d, Y%d, Y%d\n", a, a, a)
		} else {
			fmt.Fprintf(b, "\tVPXORD Z%d, Z%d, Z%d\n", a, a, a)
		}
	}
	if k.avx2 {
		wReg = 8
	}
	b.WriteString("\tTESTQ CX, CX\n")
	fmt.Fprintf(b, "\tJEQ %sdone\n", name)
	fmt.Fprintf(b, "%sloop:\n", name)
	// Software prefetch of weight rows 16..19 (one line each per 64 bytes of
	// w): rows far apart (attention keys, [nk, nKV, headDim]) defeat the
	// hardware prefetcher, which stops at 4 KiB pages.
	for c := 0; c < 4; c++ {
		for off := 0; off < k.wStep; off += 64 {
			fmt.Fprintf(b, "\tPREFETCHT0 %d%s\n", off, strings.Replace(wAddr[c], "SI", "R13", 1))
		}
	}
	for c := 0; c < 4; c++ {
		k.loadW(b, wAddr[c], wReg+c)
	}
	for r := 0; r < R; r++ {
		k.loadX(b, xAddr[r], r)
	}
	for c := 0; c < 4; c++ {
		for r := 0; r < R; r++ {
			k.mac(b, r*4+c, wReg+c, r)
		}
	}
	if k.mac2 != nil { // second pass after all first ones: no back-to-back dependency
		for c := 0; c < 4; c++ {
			for r := 0; r < R; r++ {
				k.mac2(b, r*4+c, 16+c, r)
			}
		}
	}
	fmt.Fprintf(b, "\tADDQ $%d, SI\n\tADDQ $%d, R13\n\tADDQ $%d, DI\n\tDECQ CX\n\tJNZ %sloop\n", k.wStep, k.wStep, k.xStep, name)
	fmt.Fprintf(b, "%sdone:\n", name)
	// Horizontal sums: row r's accumulators A..D = Z(4r..4r+3) -> tile[4r..4r+3].
	for r := 0; r < R; r++ {
		a := 4 * r
		for c := 0; c < 4 && !k.avx2; c++ {
			fmt.Fprintf(b, "\tVEXTRACTF64X4 $1, Z%d, Y16\n\tVADDPS Y16, Y%d, Y%d\n", a+c, a+c, a+c)
		}
		fmt.Fprintf(b, "\tVHADDPS Y%d, Y%d, Y%d\n", a+1, a, a)
		fmt.Fprintf(b, "\tVHADDPS Y%d, Y%d, Y%d\n", a+3, a+2, a+2)
		fmt.Fprintf(b, "\tVHADDPS Y%d, Y%d, Y%d\n", a+2, a, a)
		fmt.Fprintf(b, "\tVEXTRACTF128 $1, Y%d, X%d\n", a, a+1)
		fmt.Fprintf(b, "\tVADDPS X%d, X%d, X%d\n", a+1, a, a)
		fmt.Fprintf(b, "\tVMOVUPS X%d, %d(DX)\n", a, 16*r)
	}
	b.WriteString("\tVZEROUPPER\n\tRET\n\n")
}

var pAddr = []string{"(SI)", "(SI)(R9*1)", "(SI)(R9*2)", "(SI)(R10*1)"}

// genPV writes pv{R}x{W}: o[r, 0:16W] += Σ_{j<nk} p[r, j] · v[j, 0:16W] for
// r < R (the P·V product of attention). Arguments: o *float32, ldo (bytes
// between o rows), p *float32, ldp (bytes between p rows), v unsafe.Pointer,
// ldv (bytes between v rows), nk.
//
// With bf, pvbf{R}x{W}: v is raw bf16 bits (ldv bytes between its rows),
// widened exactly to fp32 as it is loaded, the same FMAs in the same order.
func genPV(b *bytes.Buffer, R, W int, bf bool) {
	name := fmt.Sprintf("pv%dx%d", R, W)
	if bf {
		name = fmt.Sprintf("pvbf%dx%d", R, W)
	}
	fmt.Fprintf(b, "// func %s(o *float32, ldo int, p *float32, ldp int, v unsafe.Pointer, ldv int, nk int)\n", name)
	fmt.Fprintf(b, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	b.WriteString("\tMOVQ o+0(FP), DX\n\tMOVQ ldo+8(FP), R8\n\tMOVQ p+16(FP), SI\n\tMOVQ ldp+24(FP), R9\n\tMOVQ v+32(FP), DI\n\tMOVQ ldv+40(FP), R11\n\tMOVQ nk+48(FP), CX\n")
	b.WriteString("\tLEAQ (R9)(R9*2), R10\n\tMOVQ DX, R12\n\tMOVQ R11, R13\n\tSHLQ $5, R13\n") // R13 = 32 v rows
	for r := 0; r < R; r++ {
		for w := 0; w < W; w++ {
			fmt.Fprintf(b, "\tVMOVUPS %d(R12), Z%d\n", 64*w, r*W+w)
		}
		if r < R-1 {
			b.WriteString("\tADDQ R8, R12\n")
		}
	}
	fmt.Fprintf(b, "\tTESTQ CX, CX\n\tJEQ %sdone\n%sloop:\n", name, name)
	vBytes := 64 // of one 16-lane vector of v
	if bf {
		vBytes = 32
	}
	for off := 0; off < W*vBytes; off += 64 { // v row j+32
		fmt.Fprintf(b, "\tPREFETCHT0 %d(DI)(R13*1)\n", off)
	}
	for w := 0; w < W; w++ {
		if bf {
			fmt.Fprintf(b, "\tVPMOVZXWD %d(DI), Z%d\n\tVPSLLD $16, Z%d, Z%d\n", 32*w, 16+w, 16+w, 16+w)
		} else {
			fmt.Fprintf(b, "\tVMOVUPS %d(DI), Z%d\n", 64*w, 16+w)
		}
	}
	for r := 0; r < R; r++ {
		fmt.Fprintf(b, "\tVBROADCASTSS %s, Z%d\n", pAddr[r], 20+r)
	}
	for r := 0; r < R; r++ {
		for w := 0; w < W; w++ {
			fmt.Fprintf(b, "\tVFMADD231PS Z%d, Z%d, Z%d\n", 16+w, 20+r, r*W+w)
		}
	}
	fmt.Fprintf(b, "\tADDQ $4, SI\n\tADDQ R11, DI\n\tDECQ CX\n\tJNZ %sloop\n%sdone:\n", name, name)
	for r := 0; r < R; r++ {
		for w := 0; w < W; w++ {
			fmt.Fprintf(b, "\tVMOVUPS Z%d, %d(DX)\n", r*W+w, 64*w)
		}
		if r < R-1 {
			b.WriteString("\tADDQ R8, DX\n")
		}
	}
	b.WriteString("\tVZEROUPPER\n\tRET\n\n")
}

func main() {
	var b bytes.Buffer
	b.WriteString("// Code generated by gen_amd64.go; DO NOT EDIT.\n\n//go:build amd64\n\n#include \"textflag.h\"\n\n")
	for _, k := range kinds {
		for R := 1; R <= 4; R++ {
			gen(&b, k, R)
		}
	}
	for _, k := range avx2Kinds {
		for R := 1; R <= 2; R++ {
			gen(&b, k, R)
		}
	}
	for _, bf := range []bool{false, true} {
		for R := 1; R <= 4; R++ {
			for W := 1; W <= 4; W++ {
				genPV(&b, R, W, bf)
			}
		}
	}
	for _, t := range pvAVX2Tiles() {
		genPVAVX2(&b, t[0], t[1])
	}
	write("matmul_amd64.s", &b)

	var pb bytes.Buffer
	pb.WriteString("// Code generated by gen_amd64.go; DO NOT EDIT.\n\n//go:build amd64\n\n#include \"textflag.h\"\n\n")
	for _, t := range bfpTiles() {
		genBFP(&pb, t[0], t[1])
	}
	genCvtBF16(&pb)
	write("bfpanel_amd64.s", &pb)
	writeBFC()
}

func write(name string, b *bytes.Buffer) {
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// bfpTiles lists the (R, C) register tiles of the packed-bf16 kernels: R rows
// of x (1..8) × C strips of 16 columns (1..4), R·C accumulators in Z0..Z23
// (so R ≤ 6 at C = 4), weights in Z24..Z27, broadcast x pairs in Z28..Z31.
func bfpTiles() [][2]int {
	var l [][2]int
	for R := 1; R <= 8; R++ {
		for C := 1; C <= 4; C++ {
			if R*C <= 24 {
				l = append(l, [2]int{R, C})
			}
		}
	}
	return l
}

// x row addresses of the packed-bf16 kernels: rows 0-3 from DI, 4-7 from BX
// (= DI + 4·ldx); R11 = ldx, R12 = 3·ldx.
var bfpXAddr = []string{"(DI)", "(DI)(R11*1)", "(DI)(R11*2)", "(DI)(R12*1)", "(BX)", "(BX)(R11*1)", "(BX)(R11*2)", "(BX)(R12*1)"}

// genBFP writes bfp{R}x{C}, the VDPBF16PS kernel on packed bf16 weights
// (PackedBF16: strips of 16 output columns, each [nq][16][2] bf16, k pairs
// outermost) and bf16 activation pairs x [R][ldx/4] (uint32 = x[2q] | x[2q+1]<<16):
//
//	out[r, 16c+l] (+)= Σ_{q<nq} w[c][q][l][0]·x[r][2q] + w[c][q][l][1]·x[r][2q+1]
//
// for r < R, c < C, l < 16. Each step loads C weight vectors (16 columns'
// pairs each), broadcasts one x pair per row (VPBROADCASTD) and issues R·C
// VDPBF16PS; the accumulators hold 16 outputs each, so there is no
// horizontal sum and a tile is stored as R·C vectors. Lanes of strip C-1
// outside mask are neither loaded nor stored (a ragged last strip). With
// acc != 0 the accumulators start from out, so a k range split into
// chunks gives the same bits as one pass. No software prefetch: a strip
// is one sequential stream, which the hardware prefetcher follows
// (PREFETCHT0 64-2048 bytes ahead measured no different on the EPYC).
// Arguments: out *float32, ldo (bytes between out rows), w unsafe.Pointer
// (strip 0 at pair 0), lds (bytes between strips), x unsafe.Pointer (row 0
// at pair 0), ldx (bytes between x rows), nq, mask, acc.
func genBFP(b *bytes.Buffer, R, C int) {
	name := fmt.Sprintf("bfp%dx%d", R, C)
	fmt.Fprintf(b, "// func %s(out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nq int, mask int, acc int)\n", name)
	fmt.Fprintf(b, "TEXT ·%s(SB), NOSPLIT, $0-72\n", name)
	b.WriteString("\tMOVQ out+0(FP), DX\n\tMOVQ ldo+8(FP), R8\n\tMOVQ w+16(FP), SI\n\tMOVQ lds+24(FP), R9\n\tMOVQ x+32(FP), DI\n\tMOVQ ldx+40(FP), R11\n\tMOVQ nq+48(FP), CX\n")
	b.WriteString("\tMOVQ mask+56(FP), AX\n\tKMOVW AX, K1\n")
	if C == 4 {
		b.WriteString("\tLEAQ (R9)(R9*2), R10\n")
	}
	if R >= 4 {
		b.WriteString("\tLEAQ (R11)(R11*2), R12\n")
	}
	if R > 4 {
		b.WriteString("\tLEAQ (DI)(R11*4), BX\n")
	}
	acc := func(r, c int) int { return r*C + c }
	// Accumulators: zero, or out (acc != 0).
	for r := 0; r < R; r++ {
		for c := 0; c < C; c++ {
			fmt.Fprintf(b, "\tVPXORD Z%d, Z%d, Z%d\n", acc(r, c), acc(r, c), acc(r, c))
		}
	}
	fmt.Fprintf(b, "\tCMPQ acc+64(FP), $0\n\tJEQ %sloopstart\n\tMOVQ DX, AX\n", name)
	for r := 0; r < R; r++ {
		for c := 0; c < C-1; c++ {
			fmt.Fprintf(b, "\tVMOVUPS %d(AX), Z%d\n", 64*c, acc(r, c))
		}
		fmt.Fprintf(b, "\tVMOVUPS.Z %d(AX), K1, Z%d\n", 64*(C-1), acc(r, C-1))
		if r < R-1 {
			b.WriteString("\tADDQ R8, AX\n")
		}
	}
	fmt.Fprintf(b, "%sloopstart:\n\tTESTQ CX, CX\n\tJEQ %sdone\n%sloop:\n", name, name, name)
	for c := 0; c < C; c++ {
		fmt.Fprintf(b, "\tVMOVDQU32 %s, Z%d\n", wAddr[c], 24+c)
	}
	for r := 0; r < R; r++ {
		xb := 28 + r%4
		fmt.Fprintf(b, "\tVPBROADCASTD %s, Z%d\n", bfpXAddr[r], xb)
		for c := 0; c < C; c++ {
			fmt.Fprintf(b, "\t%s\n", vdpbf16ps(acc(r, c), 24+c, xb))
		}
	}
	b.WriteString("\tADDQ $64, SI\n\tADDQ $4, DI\n")
	if R > 4 {
		b.WriteString("\tADDQ $4, BX\n")
	}
	fmt.Fprintf(b, "\tDECQ CX\n\tJNZ %sloop\n%sdone:\n", name, name)
	for r := 0; r < R; r++ {
		for c := 0; c < C-1; c++ {
			fmt.Fprintf(b, "\tVMOVUPS Z%d, %d(DX)\n", acc(r, c), 64*c)
		}
		fmt.Fprintf(b, "\tVMOVUPS Z%d, K1, %d(DX)\n", acc(r, C-1), 64*(C-1))
		if r < R-1 {
			b.WriteString("\tADDQ R8, DX\n")
		}
	}
	b.WriteString("\tVZEROUPPER\n\tRET\n\n")
}

// genCvtBF16 writes cvtBF16(dst *uint16, src *float32, n int): dst[i] =
// bf16(src[i]) for i < 16·n, round to nearest even on the bits as bf16() in
// convert.go (u + 0x7fff + (u>>16 & 1), then >> 16; NaN becomes
// (u>>16) | 0x40), 16 lanes per step, VPMOVDW to store.
func genCvtBF16(b *bytes.Buffer) {
	b.WriteString(`// func cvtBF16(dst *uint16, src *float32, n int)
TEXT ·cvtBF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $1, AX
	VPBROADCASTD AX, Z16
	MOVL $0x7fff, AX
	VPBROADCASTD AX, Z17
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z18
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z19
	MOVL $0x40, AX
	VPBROADCASTD AX, Z20
	TESTQ CX, CX
	JEQ cvtdone
cvtloop:
	VMOVDQU32 (SI), Z0
	VPSRLD $16, Z0, Z1
	VPANDD Z16, Z1, Z2
	VPADDD Z17, Z2, Z2
	VPADDD Z0, Z2, Z2
	VPSRLD $16, Z2, Z2
	VPANDD Z18, Z0, Z3
	VPCMPUD $6, Z19, Z3, K1 // K1 = |u| > 0x7f800000: NaN
	VPORD Z20, Z1, K1, Z2
	VPMOVDW Z2, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNZ cvtloop
cvtdone:
	VZEROUPPER
	RET
`)
}
