//go:build amd64

#include "textflag.h"

// func widenBF16AVX512(dst *float32, src *uint16, n int)
// dst[i] = float32 with the bits src[i]<<16 for i < 16n.
TEXT ·widenBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JEQ wdone
wloop:
	VPMOVZXWD (SI), Z0
	VPSLLD $16, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNZ wloop
wdone:
	VZEROUPPER
	RET

// func widenBF16AVX2(dst *float32, src *uint16, n int)
// dst[i] = float32 with the bits src[i]<<16 for i < 8n.
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	TESTQ CX, CX
	JEQ vdone
vloop:
	VPMOVZXWD (SI), Y0
	VPSLLD $16, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNZ vloop
vdone:
	VZEROUPPER
	RET

// func roundBF16AVX512(dst *uint16, src *float32, n int)
// dst[i] = bf16(src[i]) for i < 16n, as the Go bf16: round to nearest even
// on the integer bits (u + 0x7fff + (u>>16 & 1)) >> 16, a NaN kept quiet
// (u>>16 | 0x40); subnormals round like any other value.
TEXT ·roundBF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z5 // abs mask
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z6 // +Inf bits
	MOVL $0x7fff, AX
	VPBROADCASTD AX, Z7
	MOVL $1, AX
	VPBROADCASTD AX, Z8
	MOVL $0x40, AX
	VPBROADCASTD AX, Z9
	TESTQ CX, CX
	JEQ rdone
rloop:
	VMOVDQU32 (SI), Z0
	VPANDD Z5, Z0, Z1
	VPCMPUD $6, Z6, Z1, K1 // K1: |u| > Inf, a NaN
	VPSRLD $16, Z0, Z2     // u >> 16
	VPANDD Z8, Z2, Z3      // (u >> 16) & 1
	VPADDD Z7, Z0, Z4
	VPADDD Z3, Z4, Z4
	VPSRLD $16, Z4, Z4     // rounded
	VPORD Z9, Z2, Z2       // NaN: u >> 16 | 0x40
	VMOVDQA32 Z2, K1, Z4
	VPMOVDW Z4, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	DECQ CX
	JNZ rloop
rdone:
	VZEROUPPER
	RET
