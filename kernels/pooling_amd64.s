//go:build gc && !purego

#include "textflag.h"

// Lane indices of VPERMI2PS picking the even (odd) elements of a
// 32-element pair of vectors.
DATA poolEvenIdx<>+0(SB)/4, $0
DATA poolEvenIdx<>+4(SB)/4, $2
DATA poolEvenIdx<>+8(SB)/4, $4
DATA poolEvenIdx<>+12(SB)/4, $6
DATA poolEvenIdx<>+16(SB)/4, $8
DATA poolEvenIdx<>+20(SB)/4, $10
DATA poolEvenIdx<>+24(SB)/4, $12
DATA poolEvenIdx<>+28(SB)/4, $14
DATA poolEvenIdx<>+32(SB)/4, $16
DATA poolEvenIdx<>+36(SB)/4, $18
DATA poolEvenIdx<>+40(SB)/4, $20
DATA poolEvenIdx<>+44(SB)/4, $22
DATA poolEvenIdx<>+48(SB)/4, $24
DATA poolEvenIdx<>+52(SB)/4, $26
DATA poolEvenIdx<>+56(SB)/4, $28
DATA poolEvenIdx<>+60(SB)/4, $30
GLOBL poolEvenIdx<>(SB), RODATA|NOPTR, $64
DATA poolOddIdx<>+0(SB)/4, $1
DATA poolOddIdx<>+4(SB)/4, $3
DATA poolOddIdx<>+8(SB)/4, $5
DATA poolOddIdx<>+12(SB)/4, $7
DATA poolOddIdx<>+16(SB)/4, $9
DATA poolOddIdx<>+20(SB)/4, $11
DATA poolOddIdx<>+24(SB)/4, $13
DATA poolOddIdx<>+28(SB)/4, $15
DATA poolOddIdx<>+32(SB)/4, $17
DATA poolOddIdx<>+36(SB)/4, $19
DATA poolOddIdx<>+40(SB)/4, $21
DATA poolOddIdx<>+44(SB)/4, $23
DATA poolOddIdx<>+48(SB)/4, $25
DATA poolOddIdx<>+52(SB)/4, $27
DATA poolOddIdx<>+56(SB)/4, $29
DATA poolOddIdx<>+60(SB)/4, $31
GLOBL poolOddIdx<>(SB), RODATA|NOPTR, $64
DATA poolNegInf<>+0(SB)/4, $0xff800000
GLOBL poolNegInf<>(SB), RODATA|NOPTR, $4

// MAXN sets a = max(a, b) lane-wise with NaN propagating (b is
// clobbered): lanes where either is NaN first get b = a + b (NaN), and
// VMAXPS returns its second source, b, on unordered lanes.
#define MAXN(b, a) VCMPPS $3, b, a, K1; VADDPS b, a, K1, b; VMAXPS b, a, a

// VMAX3 merges three rows' vectors: a = max(a, b, c).
#define VMAX3(a, b, c) MAXN(b, a); MAXN(c, a)

// S2K3 computes 16 outputs of a 3-wide window into Z12 from the rows
// vectors at x = 2j (Z0, Z4, Z8), 2j+16 (Z1, Z5, Z9), 2j+2 (Z2, Z6,
// Z10) and 2j+18 (Z3, Z7, Z11): lane maxima over the rows, then the
// even columns of [2j, 2j+32), the odd ones, and the even ones of
// [2j+2, 2j+34). S2K2 is the 2-wide window (no 2j+2 vectors).
// LDINF loads the lanes k of off(r) into z and −Inf into the others.
#define LDINF(off, r, k, z) VMOVAPS Z29, z; VMOVUPS off(r), k, z

// ROWS3 points SI, DX and R8 at the three input rows of the output row
// whose offsets R12 points at (src in R11).
#define ROWS3 MOVQ 0(R12), SI; LEAQ (R11)(SI*4), SI; MOVQ 8(R12), DX; LEAQ (R11)(DX*4), DX; MOVQ 16(R12), R8; LEAQ (R11)(R8*4), R8

// NEXT16 advances the three rows by 32 inputs and dst by 16 outputs.
#define NEXT16 ADDQ $128, SI; ADDQ $128, DX; ADDQ $128, R8; ADDQ $64, DI; SUBQ $16, CX

#define S2K3 \
	VMAX3(Z0, Z4, Z8); VMAX3(Z1, Z5, Z9); VMAX3(Z2, Z6, Z10); VMAX3(Z3, Z7, Z11); \
	VMOVAPS Z30, Z12; VPERMI2PS Z1, Z0, Z12; \
	VMOVAPS Z31, Z13; VPERMI2PS Z1, Z0, Z13; \
	VMOVAPS Z30, Z14; VPERMI2PS Z3, Z2, Z14; \
	VMAX3(Z12, Z13, Z14)

#define S2K2 \
	VMAX3(Z0, Z4, Z8); VMAX3(Z1, Z5, Z9); \
	VMOVAPS Z30, Z12; VPERMI2PS Z1, Z0, Z12; \
	VMOVAPS Z31, Z13; VPERMI2PS Z1, Z0, Z13; \
	MAXN(Z13, Z12)

// func maxPoolS2AVX512(dst, src *float32, offs *int, rows, ldd, n, kw int, masks *[5]uint16)
//
// For each output row r < rows: dst[r·ldd + j] = max over the three
// input rows src[offs[3r+i]:] (i < 3) and kx < kw of row[2j+kx], for
// j < n and kw 2 or 3, NaN propagating. 16 outputs per iteration: the
// three rows are merged by lane maxima over 32 (+2) inputs, then
// VPERMI2PS splits the even and odd columns; in full blocks of kw 3
// the shifted even columns (2j+2) are the even ones rotated by a lane
// (VALIGND) with the merged element 2j+32 last. The last 1..16 outputs of
// a row use masks 0-3 for the loads of [0,16), [16,32), [2,18), [18,34)
// (lanes past the row's end hold −Inf) and mask 4 for the store.
// Generic twin: maxPoolS2Generic.
TEXT ·maxPoolS2AVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), BX
	MOVQ src+8(FP), R11
	MOVQ offs+16(FP), R12
	MOVQ rows+24(FP), R13
	MOVQ ldd+32(FP), AX
	SHLQ $2, AX
	MOVQ kw+48(FP), R9
	MOVQ masks+56(FP), R10
	VMOVUPS poolEvenIdx<>(SB), Z30
	VMOVUPS poolOddIdx<>(SB), Z31
	KMOVW 0(R10), K2
	KMOVW 2(R10), K3
	KMOVW 4(R10), K4
	KMOVW 6(R10), K5
	KMOVW 8(R10), K6
	VBROADCASTSS poolNegInf<>(SB), Z29
	TESTQ R13, R13
	JEQ done
	CMPQ n+40(FP), $8
	JGT row
	KORTESTW K3, K3 // row inputs past lane 16 (n 8, kw 3)
	JEQ pairs
row:
	MOVQ BX, DI
	ROWS3
	MOVQ n+40(FP), CX
	CMPQ R9, $3
	JNE k2loop
k3loop:
	CMPQ CX, $16
	JLE k3tail
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVSS 128(SI), X2
	VMOVUPS (DX), Z4
	VMOVUPS 64(DX), Z5
	VMOVSS 128(DX), X6
	VMOVUPS (R8), Z8
	VMOVUPS 64(R8), Z9
	VMOVSS 128(R8), X10
	VMAX3(Z0, Z4, Z8)
	VMAX3(Z1, Z5, Z9)
	VMAX3(Z2, Z6, Z10)
	VMOVAPS Z30, Z12
	VPERMI2PS Z1, Z0, Z12
	VMOVAPS Z31, Z13
	VPERMI2PS Z1, Z0, Z13
	VALIGND $1, Z12, Z2, Z14
	VMAX3(Z12, Z13, Z14)
	VMOVUPS Z12, (DI)
	NEXT16
	JMP k3loop
k3tail:
	LDINF(0, SI, K2, Z0)
	LDINF(64, SI, K3, Z1)
	LDINF(8, SI, K4, Z2)
	LDINF(72, SI, K5, Z3)
	LDINF(0, DX, K2, Z4)
	LDINF(64, DX, K3, Z5)
	LDINF(8, DX, K4, Z6)
	LDINF(72, DX, K5, Z7)
	LDINF(0, R8, K2, Z8)
	LDINF(64, R8, K3, Z9)
	LDINF(8, R8, K4, Z10)
	LDINF(72, R8, K5, Z11)
	S2K3
	VMOVUPS Z12, K6, (DI)
	JMP next
k2loop:
	CMPQ CX, $16
	JLE k2tail
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS (DX), Z4
	VMOVUPS 64(DX), Z5
	VMOVUPS (R8), Z8
	VMOVUPS 64(R8), Z9
	S2K2
	VMOVUPS Z12, (DI)
	NEXT16
	JMP k2loop
k2tail:
	LDINF(0, SI, K2, Z0)
	LDINF(64, SI, K3, Z1)
	LDINF(0, DX, K2, Z4)
	LDINF(64, DX, K3, Z5)
	LDINF(0, R8, K2, Z8)
	LDINF(64, R8, K3, Z9)
	S2K2
	VMOVUPS Z12, K6, (DI)
next:
	ADDQ $24, R12
	ADDQ AX, BX
	DECQ R13
	JNE row
	JMP done

	// n ≤ 8 with at most 16 inputs per row (mask 1 empty): two output
	// rows per iteration, row r in lanes [0,8) and row r+1 in [8,16).
	// Each input row fits one vector (lanes [0, lim)
	// loaded with mask 0, −Inf above), so the three rows' lane maxima of
	// both output rows are split by VPERMI2PS into the even and odd
	// columns at once; the even ones rotated by a lane (VALIGND) are the
	// third taps, except in lanes 7 and 15 (tap 16, past the row), which
	// like all lanes for kw 2 are −Inf (K3).
	// An odd last row is paired with itself and only its half stored.
pairs:
	MOVL $0x8080, DI
	CMPQ R9, $3
	JEQ pmask
	MOVL $0xffff, DI
pmask:
	KMOVW DI, K3
prow:
	ROWS3
	MOVQ SI, CX
	MOVQ DX, R10
	MOVQ R8, DI
	CMPQ R13, $2
	JLT pone
	MOVQ 24(R12), CX
	LEAQ (R11)(CX*4), CX
	MOVQ 32(R12), R10
	LEAQ (R11)(R10*4), R10
	MOVQ 40(R12), DI
	LEAQ (R11)(DI*4), DI
pone:
	LDINF(0, SI, K2, Z0)
	LDINF(0, DX, K2, Z4)
	LDINF(0, R8, K2, Z8)
	LDINF(0, CX, K2, Z1)
	LDINF(0, R10, K2, Z5)
	LDINF(0, DI, K2, Z9)
	VMAX3(Z0, Z4, Z8)
	VMAX3(Z1, Z5, Z9)
	VMOVAPS Z30, Z12
	VPERMI2PS Z1, Z0, Z12
	VMOVAPS Z31, Z13
	VPERMI2PS Z1, Z0, Z13
	VALIGND $1, Z12, Z12, Z14
	VMOVAPS Z29, K3, Z14
	VMAX3(Z12, Z13, Z14)
	VMOVUPS Z12, K6, (BX)
	CMPQ R13, $2
	JLT done
	VSHUFF32X4 $0x0E, Z12, Z12, Z13
	VMOVUPS Z13, K6, (BX)(AX*1)
	ADDQ $48, R12
	LEAQ (BX)(AX*2), BX
	SUBQ $2, R13
	JNE prow
done:
	VZEROUPPER
	RET

// func sumF64AVX512(x *float32, n int) float64
//
// The sum of x[0:n] in float64: 32 floats per iteration into four
// 8-lane float64 accumulators, then 8 at a time, a masked tail, and a
// pairwise reduction. Generic twin: sumF64Generic.
TEXT ·sumF64AVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
sum32:
	CMPQ CX, $32
	JLT sum8
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VCVTPS2PD 64(SI), Z6
	VCVTPS2PD 96(SI), Z7
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	VADDPD Z6, Z2, Z2
	VADDPD Z7, Z3, Z3
	ADDQ $128, SI
	SUBQ $32, CX
	JMP sum32
sum8:
	CMPQ CX, $8
	JLT sumtail
	VCVTPS2PD (SI), Z4
	VADDPD Z4, Z0, Z0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP sum8
sumtail:
	TESTQ CX, CX
	JEQ reduce
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VCVTPS2PD Y4, Z4
	VADDPD Z4, Z1, Z1
reduce:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET
