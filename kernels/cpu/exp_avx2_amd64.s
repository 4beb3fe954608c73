//go:build amd64

#include "textflag.h"

// 8-lane (AVX2 + FMA) versions of expScaleSum and maxF32 (exp_amd64.s) and
// the SwiGLU product: the same constants and the same instruction sequence
// as the AVX-512 exp, except that y·2^n (VSCALEFPS there) adds n to the
// exponent bits of y, which is exact on the clamped range (n = -126..128
// and y < 1 at n = 128, so every result is a normal number).

// C8 writes the float32 bits v into the 8 lanes of a 32-byte constant.
#define C8(off, v) DATA exp8<>+(off)(SB)/4, v; DATA exp8<>+(off+4)(SB)/4, v; DATA exp8<>+(off+8)(SB)/4, v; DATA exp8<>+(off+12)(SB)/4, v; DATA exp8<>+(off+16)(SB)/4, v; DATA exp8<>+(off+20)(SB)/4, v; DATA exp8<>+(off+24)(SB)/4, v; DATA exp8<>+(off+28)(SB)/4, v

C8(0, $0x3fb8aa3b)   // log2(e)
C8(32, $0x3f000000)  // 0.5 (also p5)
C8(64, $0x3f318000)  // c1 = 0.693359375
C8(96, $0xb95e8083)  // c2 = -2.12194440e-4
C8(128, $0x39506967) // p0
C8(160, $0x3ab743ce) // p1
C8(192, $0x3c088908) // p2
C8(224, $0x3d2aa9c1) // p3
C8(256, $0x3e2aaaaa) // p4
C8(288, $0x3f800000) // 1
C8(320, $0xc2aeac4f) // -87.33654: below, the result is 0
C8(352, $0x42b17217) // 88.72283: clamp
C8(384, $0x80000000) // sign bit
GLOBL exp8<>(SB), RODATA|NOPTR, $416

// EXPCONST loads the constants of EXP8: log2e Y10, 0.5 Y9, c1 Y8, c2 Y7,
// 1 Y6, lo Y12, hi Y11.
#define EXPCONST \
	VMOVUPS exp8<>+0(SB), Y10 \
	VMOVUPS exp8<>+32(SB), Y9 \
	VMOVUPS exp8<>+64(SB), Y8 \
	VMOVUPS exp8<>+96(SB), Y7 \
	VMOVUPS exp8<>+288(SB), Y6 \
	VMOVUPS exp8<>+320(SB), Y12 \
	VMOVUPS exp8<>+352(SB), Y11

// EXP8 sets Y2 = exp(t) for t in Y0, 8 lanes (Y0, Y1, Y3, Y4 clobbered;
// p0..p4 from memory), as expScaleSum does on 16:
//
//	keep = !(t < lo); t = min(max(t, lo), hi)
//	n = floor(t*log2e + 0.5); r = t - n*c1 - n*c2
//	y = ((((p0*r + p1)*r + p2)*r + p3)*r + p4)*r + p5; y = y*r² + r + 1
//	Y2 = keep ? y·2^n : 0    (2^n: n added to the exponent bits of y)
#define EXP8 \
	VCMPPS $5, Y12, Y0, Y3 \
	VMAXPS Y12, Y0, Y0 \
	VMINPS Y11, Y0, Y0 \
	VMOVAPS Y10, Y1 \
	VFMADD213PS Y9, Y0, Y1 \
	VROUNDPS $9, Y1, Y1 \
	VFNMADD231PS Y8, Y1, Y0 \
	VFNMADD231PS Y7, Y1, Y0 \
	VMOVUPS exp8<>+128(SB), Y2 \
	VFMADD213PS exp8<>+160(SB), Y0, Y2 \
	VFMADD213PS exp8<>+192(SB), Y0, Y2 \
	VFMADD213PS exp8<>+224(SB), Y0, Y2 \
	VFMADD213PS exp8<>+256(SB), Y0, Y2 \
	VFMADD213PS Y9, Y0, Y2 \
	VMULPS Y0, Y0, Y4 \
	VFMADD213PS Y0, Y4, Y2 \
	VADDPS Y6, Y2, Y2 \
	VCVTTPS2DQ Y1, Y1 \
	VPSLLD $23, Y1, Y1 \
	VPADDD Y1, Y2, Y2 \
	VANDPS Y3, Y2, Y2

// func expScaleSum8(x *float32, n int, scale, bias float32) float32
// For i < 8*n: x[i] = exp(x[i]*scale - bias) (see EXP8). Returns Σ x[i]
// (fp32 lanes).
TEXT ·expScaleSum8(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Y14
	VBROADCASTSS bias+20(FP), Y13
	EXPCONST
	VXORPS Y15, Y15, Y15 // sum
	TESTQ CX, CX
	JEQ done
loop:
	VMOVUPS (SI), Y0
	VFMSUB213PS Y13, Y14, Y0 // t = x*scale - bias
	EXP8
	VMOVUPS Y2, (SI)
	VADDPS Y2, Y15, Y15
	ADDQ $32, SI
	DECQ CX
	JNZ loop
done:
	VEXTRACTF128 $1, Y15, X1
	VADDPS X1, X15, X15
	VHADDPS X15, X15, X15
	VHADDPS X15, X15, X15
	VZEROUPPER
	MOVSS X15, ret+24(FP)
	RET

// func siluMul8(gate, up *float32, n int)
// For i < 8*n: gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i], exp as EXP8
// (0 when -gate[i] < -87.33654).
TEXT ·siluMul8(SB), NOSPLIT, $0-24
	MOVQ gate+0(FP), SI
	MOVQ up+8(FP), DI
	MOVQ n+16(FP), CX
	EXPCONST
	VMOVUPS exp8<>+384(SB), Y13
	TESTQ CX, CX
	JEQ sdone
sloop:
	VMOVUPS (SI), Y5
	VXORPS Y13, Y5, Y0 // t = -g
	EXP8
	VADDPS Y6, Y2, Y2   // 1 + exp(-g)
	VDIVPS Y2, Y5, Y5   // g / (1 + exp(-g))
	VMULPS (DI), Y5, Y5 // · up
	VMOVUPS Y5, (SI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ sloop
sdone:
	VZEROUPPER
	RET

// func maxF32x8(x *float32, n int) float32
// Returns max(x[0:8*n]) (n >= 1).
TEXT ·maxF32x8(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	ADDQ $32, SI
	DECQ CX
	JEQ mdone
mloop:
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ mloop
mdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET
