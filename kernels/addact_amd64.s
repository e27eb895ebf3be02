//go:build gc && !purego

#include "textflag.h"

// ADDCLAMP sets z = min(max(z + off(DX), Z30), Z31) with NaN
// propagating: VMAXPS and VMINPS return their second source, the sum,
// on unordered lanes.
#define ADDCLAMP(off, z) VADDPS off(DX), z, z; VMAXPS z, Z30, z; VMINPS z, Z31, z

// func addClampAVX512(dst, a, b *float32, n int, lo, hi float32)
//
// 64 floats per iteration, then 16, then a masked tail. Generic twin:
// addClampGeneric.
TEXT ·addClampAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS lo+32(FP), Z30
	VBROADCASTSS hi+36(FP), Z31
add64:
	CMPQ CX, $64
	JLT add16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	ADDCLAMP(0, Z0)
	ADDCLAMP(64, Z1)
	ADDCLAMP(128, Z2)
	ADDCLAMP(192, Z3)
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DX
	ADDQ $256, DI
	SUBQ $64, CX
	JMP add64
add16:
	CMPQ CX, $16
	JLT addtail
	VMOVUPS (SI), Z0
	ADDCLAMP(0, Z0)
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	SUBQ $16, CX
	JMP add16
addtail:
	TESTQ CX, CX
	JEQ adddone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VADDPS Z1, Z0, Z0
	VMAXPS Z0, Z30, Z0
	VMINPS Z0, Z31, Z0
	VMOVUPS Z0, K1, (DI)
adddone:
	VZEROUPPER
	RET
