//go:build amd64

#include "textflag.h"

// Constants of expf (exp.go), float32 bits.
DATA expc<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expc<>+4(SB)/4, $0x3f000000  // 0.5
DATA expc<>+8(SB)/4, $0x3f318000  // c1 = 0.693359375
DATA expc<>+12(SB)/4, $0xb95e8083 // c2 = -2.12194440e-4
DATA expc<>+16(SB)/4, $0x39506967 // p0
DATA expc<>+20(SB)/4, $0x3ab743ce // p1
DATA expc<>+24(SB)/4, $0x3c088908 // p2
DATA expc<>+28(SB)/4, $0x3d2aa9c1 // p3
DATA expc<>+32(SB)/4, $0x3e2aaaaa // p4
DATA expc<>+36(SB)/4, $0x3f000000 // p5
DATA expc<>+40(SB)/4, $0x3f800000 // 1
DATA expc<>+44(SB)/4, $0xc2aeac4f // -87.33654: below, the result is 0
DATA expc<>+48(SB)/4, $0x42b17217 // 88.72283: clamp (callers pass t <= 0)
GLOBL expc<>(SB), RODATA|NOPTR, $52

// func expScaleSum(x *float32, n int, scale, bias float32) float32
// For i < 16*n: x[i] = exp(x[i]*scale - bias), the expf algorithm on 16
// lanes (Cody-Waite reduction, Cephes polynomial, VSCALEFPS); lanes with
// x*scale-bias < -87.33654 (and NaN) become 0. Returns Σ x[i] (fp32 lanes).
TEXT ·expScaleSum(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS scale+16(FP), Z30
	VBROADCASTSS bias+20(FP), Z31
	VBROADCASTSS expc<>+0(SB), Z16
	VBROADCASTSS expc<>+4(SB), Z17
	VBROADCASTSS expc<>+8(SB), Z18
	VBROADCASTSS expc<>+12(SB), Z19
	VBROADCASTSS expc<>+16(SB), Z20
	VBROADCASTSS expc<>+20(SB), Z21
	VBROADCASTSS expc<>+24(SB), Z22
	VBROADCASTSS expc<>+28(SB), Z23
	VBROADCASTSS expc<>+32(SB), Z24
	VBROADCASTSS expc<>+36(SB), Z25
	VBROADCASTSS expc<>+40(SB), Z26
	VBROADCASTSS expc<>+44(SB), Z27
	VBROADCASTSS expc<>+48(SB), Z28
	VPXORD Z15, Z15, Z15 // sum
	TESTQ CX, CX
	JEQ done
loop:
	VMOVUPS (SI), Z0
	VFMSUB213PS Z31, Z30, Z0   // t = x*scale - bias
	VCMPPS $5, Z27, Z0, K1     // K1 = !(t < lo): lanes to keep
	VMAXPS Z27, Z0, Z0
	VMINPS Z28, Z0, Z0
	VMOVAPS Z0, Z1
	VFMADD213PS Z17, Z16, Z1   // t*log2e + 0.5
	VRNDSCALEPS $9, Z1, Z1     // n = floor(...)
	VFNMADD231PS Z18, Z1, Z0   // r = t - n*c1
	VFNMADD231PS Z19, Z1, Z0   // r -= n*c2
	VMOVAPS Z20, Z2            // y = p0
	VFMADD213PS Z21, Z0, Z2    // y = y*r + p1
	VFMADD213PS Z22, Z0, Z2
	VFMADD213PS Z23, Z0, Z2
	VFMADD213PS Z24, Z0, Z2
	VFMADD213PS Z25, Z0, Z2    // ... + p5
	VMULPS Z0, Z0, Z3          // z = r*r
	VFMADD213PS Z0, Z3, Z2     // y = y*z + r
	VADDPS Z26, Z2, Z2         // y += 1
	VSCALEFPS Z1, Z2, Z2       // y * 2^n
	VMOVAPS.Z Z2, K1, Z2
	VMOVUPS Z2, (SI)
	VADDPS Z2, Z15, Z15
	ADDQ $64, SI
	DECQ CX
	JNZ loop
done:
	VEXTRACTF64X4 $1, Z15, Y1
	VADDPS Y1, Y15, Y15
	VEXTRACTF128 $1, Y15, X1
	VADDPS X1, X15, X15
	VHADDPS X15, X15, X15
	VHADDPS X15, X15, X15
	VZEROUPPER
	MOVSS X15, ret+24(FP)
	RET

// func maxF32(x *float32, n int) float32
// Returns max(x[0:16*n]) (n >= 1).
TEXT ·maxF32(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Z0
	ADDQ $64, SI
	DECQ CX
	JEQ mdone
mloop:
	VMAXPS (SI), Z0, Z0
	ADDQ $64, SI
	DECQ CX
	JNZ mloop
mdone:
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET
