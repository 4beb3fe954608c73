//go:build ignore

// gen_amd64.go writes matmul_amd64.s: register-blocked AVX-512 matmul
// micro-kernels. Run `go generate ./kernels/cpu` after editing.
//
// Every kernel computes a tile of R rows of x (R = 1..4) against 4 weight rows:
//
//	tile[r*4+c] = Σ_{p < nblk*B} x[r, p] · w[c, p]       r < R, c < 4
//
// with 16 fp32 accumulator lanes per (r, c) and a horizontal sum at the end.
// Each weight vector is loaded once per step and reused by all R rows.
// Arguments: tile *float32, w unsafe.Pointer (row 0), ldw (bytes between
// weight rows), x unsafe.Pointer (row 0), ldx (bytes between x rows), nblk.
package main

import (
	"bytes"
	"fmt"
	"os"
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
	for a := 0; a < 4*R; a++ {
		fmt.Fprintf(b, "\tVPXORD Z%d, Z%d, Z%d\n", a, a, a)
	}
	b.WriteString("\tTESTQ CX, CX\n")
	fmt.Fprintf(b, "\tJEQ %sdone\n", name)
	fmt.Fprintf(b, "%sloop:\n", name)
	for c := 0; c < 4; c++ {
		k.loadW(b, wAddr[c], 16+c)
	}
	for r := 0; r < R; r++ {
		k.loadX(b, xAddr[r], r)
	}
	for c := 0; c < 4; c++ {
		for r := 0; r < R; r++ {
			k.mac(b, r*4+c, 16+c, r)
		}
	}
	if k.mac2 != nil { // second pass after all first ones: no back-to-back dependency
		for c := 0; c < 4; c++ {
			for r := 0; r < R; r++ {
				k.mac2(b, r*4+c, 16+c, r)
			}
		}
	}
	fmt.Fprintf(b, "\tADDQ $%d, SI\n\tADDQ $%d, DI\n\tDECQ CX\n\tJNZ %sloop\n", k.wStep, k.xStep, name)
	fmt.Fprintf(b, "%sdone:\n", name)
	// Horizontal sums: row r's accumulators A..D = Z(4r..4r+3) -> tile[4r..4r+3].
	for r := 0; r < R; r++ {
		a := 4 * r
		for c := 0; c < 4; c++ {
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

func main() {
	var b bytes.Buffer
	b.WriteString("// Code generated by gen_amd64.go; DO NOT EDIT.\n\n//go:build amd64\n\n#include \"textflag.h\"\n\n")
	for _, k := range kinds {
		for R := 1; R <= 4; R++ {
			gen(&b, k, R)
		}
	}
	if err := os.WriteFile("matmul_amd64.s", b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
