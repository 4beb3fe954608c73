//go:build ignore

// amx_gen_amd64.go writes amx_amd64.s: the AMX (TDPBF16PS) tiles of
// MatMulPacked on pairs-packed bf16 weights (see amx_amd64.go), and xgetbv.
// Run `go generate ./kernels/cpu` after editing.
//
// Go's assembler has no AMX mnemonics, so each instruction is written as
// BYTE directives from the Intel SDM (vol. 2, "AMX" and 2.3.5 VEX). The
// 3-byte VEX prefix is
//
//	C4 | R̄ X̄ B̄ m-mmmm | W v̄v̄v̄v̄ L pp
//
// with R̄, X̄, B̄ the inverted high bits of ModRM.reg, SIB.index and
// SIB.base (or ModRM.rm), m-mmmm = 00010 (map 0F38), W = 0, L = 0, v̄v̄v̄v̄
// the inverted VEX.vvvv register (1111 when unused) and pp the implied
// prefix (00 none, 01 66, 10 F3, 11 F2). The instructions used:
//
//	LDTILECFG m512         VEX.128.NP.0F38.W0 49 /0         C4 E2 78 49 00      ([RAX])
//	TILERELEASE            VEX.128.NP.0F38.W0 49 C0         C4 E2 78 49 C0
//	TILEZERO tmm           VEX.128.F2.0F38.W0 49 11:rrr:000 C4 E2 7B 49 C0+8t
//	TILELOADD tmm, sib     VEX.128.F2.0F38.W0 4B /r         C4 xx 7B 4B 04+8t sib
//	TILESTORED sib, tmm    VEX.128.F3.0F38.W0 4B /r         C4 xx 7A 4B 04+8t sib
//	TDPBF16PS t1, t2, t3   VEX.128.F3.0F38.W0 5C 11:t1:t2   C4 E2 v 5C C0+8t1+t2, v = 0x02 | (^t3&15)<<3
//
// The tile loads and stores take [base + index·1] (ModRM mod = 00, rm =
// 100: a SIB byte with scale 00); index holds the row stride in bytes. The
// 18 distinct encodings of amx_amd64.s were checked against GNU as 2.40
// (Intel syntax: `ldtilecfg [rax]`, `tileloadd tmm5, [r8+rdx*1]`,
// `tilestored [r12+r11*1], tmm2`, `tdpbf16ps tmm1, tmm4, tmm7`, ...;
// objdump -d gives the same bytes) and every kernel runs against a float64
// reference in amx_amd64_test.go.
package main

import (
	"bytes"
	"fmt"
	"os"
)

// Go's register numbers, as the hardware encodes them (R8-R15: 8-15).
const (
	rAX, rCX, rDX, rBX, rSI, rDI = 0, 1, 2, 3, 6, 7
	r8, r9, r10, r11, r12        = 8, 9, 10, 11, 12
)

var regName = map[int]string{rAX: "AX", rCX: "CX", rDX: "DX", rBX: "BX", rSI: "SI", rDI: "DI", r8: "R8", r9: "R9", r10: "R10", r11: "R11", r12: "R12"}

// vex3 returns the C4 prefix bytes for map 0F38, W0, L0 with the given
// implied prefix pp, extension bits (ModRM.reg high bit r, SIB.index x,
// base b) and vvvv register.
func vex3(r, x, b, vvvv, pp int) []byte {
	inv := func(v int) int { return ^v & 1 }
	return []byte{0xc4, byte(inv(r)<<7 | inv(x)<<6 | inv(b)<<5 | 0b00010), byte((^vvvv&15)<<3 | pp)}
}

const (
	ppNP, ppF3, ppF2 = 0b00, 0b10, 0b11
)

// emit writes one instruction's bytes with its mnemonic as a comment.
func emit(b *bytes.Buffer, code []byte, asm string) {
	b.WriteString("\t")
	for i, c := range code {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(b, "BYTE $0x%02x", c)
	}
	fmt.Fprintf(b, " // %s\n", asm)
}

func ldtilecfgAX(b *bytes.Buffer) {
	emit(b, append(vex3(0, 0, 0, 0, ppNP), 0x49, 0x00), "LDTILECFG (AX)")
}

func tilerelease(b *bytes.Buffer) {
	emit(b, append(vex3(0, 0, 0, 0, ppNP), 0x49, 0xc0), "TILERELEASE")
}

func tilezero(b *bytes.Buffer, t int) {
	emit(b, append(vex3(0, 0, 0, 0, ppF2), 0x49, byte(0xc0|t<<3)), fmt.Sprintf("TILEZERO TMM%d", t))
}

// tilemem is TILELOADD (pp = F2) or TILESTORED (pp = F3) of tile t at
// [base + index·1].
func tilemem(b *bytes.Buffer, pp, t, base, index int, asm string) {
	code := append(vex3(0, index>>3, base>>3, 0, pp), 0x4b, byte(t<<3|0b100), byte((index&7)<<3|base&7))
	emit(b, code, asm)
}

func tileload(b *bytes.Buffer, t, base, index int) {
	tilemem(b, ppF2, t, base, index, fmt.Sprintf("TILELOADD TMM%d, (%s)(%s*1)", t, regName[base], regName[index]))
}

func tilestore(b *bytes.Buffer, t, base, index int) {
	tilemem(b, ppF3, t, base, index, fmt.Sprintf("TILESTORED (%s)(%s*1), TMM%d", regName[base], regName[index], t))
}

// tdpbf16ps: tile c (fp32 [rows][16]) += tile a (bf16 pairs [rows][16][2])
// · tile w (bf16 pairs [16 k pairs][cols][2]).
func tdpbf16ps(b *bytes.Buffer, c, a, w int) {
	emit(b, append(vex3(0, 0, 0, w, ppF3), 0x5c, byte(0xc0|c<<3|a)), fmt.Sprintf("TDPBF16PS TMM%d, TMM%d, TMM%d", c, a, w))
}

// Tiles: C[r][c] accumulators in TMM(2r+c), A row blocks in TMM4-5, B
// strips in TMM6-7.
func tileC(r, c int) int { return 2*r + c }
func tileA(r int) int    { return 4 + r }
func tileB(c int) int    { return 6 + c }

// prefetchB is how far ahead (bytes) each strip's B tiles are prefetched.
var prefetchB = 4096

// genAMX writes amx{R}x{C}: out[16R rows][16C columns] (fp32, stride ldo
// bytes) = Σ over nkb blocks of 16 k pairs of A · B, where A row block r
// starts at x + 16r·ldx (bf16 pairs, stride ldx bytes) and advances 64
// bytes per block, and B strip c starts at w + c·lds (bf16 pairs [16][16][2],
// stride 64 bytes) and advances 1024 bytes per block. The shapes (rows of
// A and C, bytes per row of B and C) come from cfg, loaded first; the tiles
// are released before return.
func genAMX(b *bytes.Buffer, R, C int) {
	name := fmt.Sprintf("amx%dx%d", R, C)
	fmt.Fprintf(b, "// func %s(cfg *amxConfig, out *float32, ldo int, w unsafe.Pointer, lds int, x unsafe.Pointer, ldx int, nkb int)\n", name)
	fmt.Fprintf(b, "TEXT ·%s(SB), NOSPLIT, $0-64\n", name)
	b.WriteString("\tMOVQ cfg+0(FP), AX\n")
	b.WriteString("\tMOVQ out+8(FP), R10\n")
	b.WriteString("\tMOVQ ldo+16(FP), R11\n")
	b.WriteString("\tMOVQ w+24(FP), DI\n")
	b.WriteString("\tMOVQ lds+32(FP), R9\n")
	b.WriteString("\tMOVQ x+40(FP), SI\n")
	b.WriteString("\tMOVQ ldx+48(FP), DX\n")
	b.WriteString("\tMOVQ nkb+56(FP), BX\n")
	ldtilecfgAX(b)
	b.WriteString("\tMOVQ $64, CX\n")
	if C == 2 {
		b.WriteString("\tADDQ DI, R9\n") // B strip 1
	}
	if R == 2 {
		b.WriteString("\tMOVQ DX, R8\n\tSHLQ $4, R8\n\tADDQ SI, R8\n") // A rows 16..31
	}
	if R == 2 {
		b.WriteString("\tMOVQ R11, R12\n\tSHLQ $4, R12\n\tADDQ R10, R12\n") // out row 16
	}
	rowReg := [2]int{r10, r12}
	for r := range R {
		for c := range C {
			tilezero(b, tileC(r, c))
		}
	}
	fmt.Fprintf(b, "\tTESTQ BX, BX\n\tJEQ %sstore\n", name)
	fmt.Fprintf(b, "%sloop:\n", name)
	aReg := [2]int{rSI, r8}
	bReg := [2]int{rDI, r9}
	for c := range C {
		for l := 0; l < 1024; l += 64 {
			fmt.Fprintf(b, "\tPREFETCHT0 %d(%s)\n", prefetchB+l, regName[bReg[c]])
		}
	}
	for r := range R {
		tileload(b, tileA(r), aReg[r], rDX)
	}
	for c := range C {
		tileload(b, tileB(c), bReg[c], rCX)
	}
	for r := range R {
		for c := range C {
			tdpbf16ps(b, tileC(r, c), tileA(r), tileB(c))
		}
	}
	for r := range R {
		fmt.Fprintf(b, "\tADDQ $64, %s\n", regName[aReg[r]])
	}
	for c := range C {
		fmt.Fprintf(b, "\tADDQ $1024, %s\n", regName[bReg[c]])
	}
	fmt.Fprintf(b, "\tDECQ BX\n\tJNZ %sloop\n", name)
	fmt.Fprintf(b, "%sstore:\n", name)
	for r := range R {
		tilestore(b, tileC(r, 0), rowReg[r], r11)
		if C == 2 {
			fmt.Fprintf(b, "\tLEAQ 64(%s), AX\n", regName[rowReg[r]])
			tilestore(b, tileC(r, 1), rAX, r11)
		}
	}
	tilerelease(b)
	b.WriteString("\tRET\n\n")
}

func main() {
	var b bytes.Buffer
	b.WriteString("// Code generated by amx_gen_amd64.go; DO NOT EDIT.\n\n//go:build amd64\n\n#include \"textflag.h\"\n\n")
	for R := 1; R <= 2; R++ {
		for C := 1; C <= 2; C++ {
			genAMX(&b, R, C)
		}
	}
	b.WriteString("// func xgetbv0() (eax, edx uint32)\n")
	b.WriteString("TEXT ·xgetbv0(SB), NOSPLIT, $0-8\n\tMOVL $0, CX\n\tXGETBV\n\tMOVL AX, eax+0(FP)\n\tMOVL DX, edx+4(FP)\n\tRET\n")
	if err := os.WriteFile("amx_amd64.s", b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
